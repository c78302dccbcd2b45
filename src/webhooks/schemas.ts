import { z } from 'zod';

/** An event type (`voucher.redemption.succeeded`), a family (`voucher.*`), or everything (`*`). */
export const eventFilterSchema = z
  .string()
  .regex(/^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/, 'an event type such as voucher.published, a family such as voucher.*, or *');

const urlSchema = z.string().trim().min(1).max(2048);

export const createWebhookSchema = z.strictObject({
  url: urlSchema,
  events: z.array(eventFilterSchema).min(1).max(100),
  description: z.string().max(500).optional(),
  enabled: z.boolean().optional(),
});

export const updateWebhookSchema = z
  .strictObject({
    url: urlSchema.optional(),
    events: z.array(eventFilterSchema).min(1).max(100).optional(),
    description: z.string().max(500).nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');

export const replayWebhookSchema = z.strictObject({
  since: z.iso.datetime({ offset: true }),
});

export const deliveryPageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(100).optional(),
  status: z.enum(['pending', 'succeeded', 'failed', 'cancelled']).optional(),
  event_type: z.string().max(200).optional(),
});

export const eventPageQuerySchema = z.object({
  type: z.string().max(2000).optional(),
  after: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export type CreateWebhookInput = z.infer<typeof createWebhookSchema>;
export type UpdateWebhookInput = z.infer<typeof updateWebhookSchema>;
