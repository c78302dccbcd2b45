import { z } from 'zod';
import { channelSchema } from '../delivery/schemas.ts';

export const MAX_INLINE_RECIPIENTS = 10_000;

export const recipientSchema = z.strictObject({
  customer_id: z.string().trim().min(1).max(200).optional(),
  email: z.email().max(320).optional(),
  phone: z.string().trim().min(3).max(32).optional(),
  name: z.string().trim().max(200).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type RecipientInput = z.infer<typeof recipientSchema>;

export const createDistributionSchema = z.strictObject({
  channel: channelSchema,
  template_id: z.uuid(),
  recipients: z.array(recipientSchema).min(1).max(MAX_INLINE_RECIPIENTS),
});

/** For CSV uploads the channel and template come in the query string. */
export const csvDistributionQuerySchema = z.object({
  channel: channelSchema,
  template_id: z.uuid(),
});
