import { z } from 'zod';
import { idSchema } from '../shared/fields.ts';

/**
 * `PUT /v1/campaigns/{id}/expiry-reminder`: remind holders this many days before their code expires, once per code.
 * With a template the message is sent through delivery; without one only `voucher.expiring_soon` is emitted.
 */
export const expiryReminderSchema = z.strictObject({
  days_before: z.number().int().min(1).max(365),
  channel: z.enum(['email', 'sms']).default('email'),
  template_id: z.uuid().optional(),
});

export type ExpiryReminderInput = z.infer<typeof expiryReminderSchema>;

export const reminderSettingSchema = z.object({
  campaign_id: idSchema,
  days_before: z.number().int(),
  channel: z.enum(['email', 'sms']),
  template_id: idSchema.nullable(),
});

export type ReminderSetting = z.output<typeof reminderSettingSchema>;
