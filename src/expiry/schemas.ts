import { z } from 'zod';

/** `PUT /v1/campaigns/{id}/expiry-reminder`: remind holders this many days before their code expires, once per code. */
export const expiryReminderSchema = z.strictObject({
  days_before: z.number().int().min(1).max(365),
  channel: z.enum(['email', 'sms']).default('email'),
});

export type ExpiryReminderInput = z.infer<typeof expiryReminderSchema>;
