import { z } from 'zod';
import { customerSchema, publicationChannelSchema } from '../delivery/schemas.ts';
import { isReservedEventType, RESERVED_NAMESPACES } from '../events/catalog.ts';
import { idSchema, timestampSchema } from '../shared/fields.ts';

/** A business event's type: passed on to webhooks as it is, so never in a namespace the platform's own events use. */
const eventType = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'a dotted lower-case name such as customer.created or order.created')
  .max(100)
  .refine((type) => !isReservedEventType(type), `${RESERVED_NAMESPACES.join(', ')} events are the platform's own`);

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

export const triggerViewSchema = z
  .object({
    id: idSchema,
    campaign_id: idSchema,
    event: z.string(),
    channel: publicationChannelSchema,
    template_id: idSchema.nullable(),
    conditions: z.object({ min_amount: z.number().int().optional(), currency: z.string().optional() }),
    active: z.boolean(),
    created_at: timestampSchema,
  })
  .meta({ id: 'Trigger' });

export const businessEventViewSchema = z
  .object({
    id: idSchema,
    type: z.string(),
    customer_id: z.string(),
    source_id: z.string().nullable(),
    status: z.enum(['received', 'processed', 'failed']),
    result: z.unknown().describe('What processing did, per matching trigger (once processed)'),
    created_at: timestampSchema,
    processed_at: timestampSchema.nullable(),
  })
  .meta({ id: 'BusinessEvent' });
