import { z } from 'zod';
import { customerSchema, publicationChannelSchema } from '../delivery/schemas.ts';

const eventType = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'a dotted lower-case name such as customer.created or order.created')
  .max(100);

export const createTriggerSchema = z.strictObject({
  event: eventType,
  channel: publicationChannelSchema.default('none'),
  template_id: z.uuid().optional(),
  conditions: z
    .strictObject({
      /** data.amount (integer minor units) at least this much. */
      min_amount: z.number().int().min(0).optional(),
      /** data.currency equals this (ISO 4217). */
      currency: z
        .string()
        .regex(/^[A-Z]{3}$/)
        .optional(),
    })
    .default({}),
  active: z.boolean().default(true),
});
export type CreateTriggerInput = z.infer<typeof createTriggerSchema>;

export const businessEventSchema = z.strictObject({
  type: eventType,
  customer: customerSchema,
  data: z.record(z.string(), z.unknown()).default({}),
  source_id: z.string().trim().min(1).max(255).optional(),
});
export type BusinessEventInput = z.infer<typeof businessEventSchema>;
