import { z } from 'zod';
import { eventEnvelopeSchema, isKnownEventFilter, RESERVED_NAMESPACES } from '../events/catalog.ts';
import { idSchema, timestampSchema } from '../shared/fields.ts';
import { cursorParam, pageLimit } from '../shared/paging.ts';

/**
 * An event type (`voucher.redemption.succeeded`), a family (`voucher.*`), or everything (`*`). In the platform's
 * namespaces it must name a type of the event catalogue (400 `unknown_event_type`); others are business events.
 */
export const eventFilterSchema = z
  .string()
  .regex(/^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/, 'an event type such as voucher.published, a family such as voucher.*, or *')
  .refine(isKnownEventFilter, {
    message: `no such event type (see the webhooks section of /openapi.json; ${RESERVED_NAMESPACES.map((n) => `${n}.*`).join(', ')} are the platform's)`,
    params: { problem: 'unknown_event_type' },
  });

const urlSchema = z.string().trim().min(1).max(2048);

/** `standard`: the platform's envelope and Standard Webhooks signature; `voucherify`: Voucherify's (docs/migrating-from-voucherify.md). */
export const WEBHOOK_FORMATS = ['standard', 'voucherify'] as const;
const formatSchema = z.enum(WEBHOOK_FORMATS);

export const createWebhookSchema = z.strictObject({
  url: urlSchema,
  events: z.array(eventFilterSchema).min(1).max(100),
  description: z.string().max(500).optional(),
  enabled: z.boolean().optional(),
  format: formatSchema.optional().describe('Default standard'),
});

export const updateWebhookSchema = z
  .strictObject({
    url: urlSchema.optional(),
    events: z.array(eventFilterSchema).min(1).max(100).optional(),
    description: z.string().max(500).nullable().optional(),
    enabled: z.boolean().optional(),
    format: formatSchema.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');

export const replayWebhookSchema = z.strictObject({
  since: z.iso.datetime({ offset: true }),
});

export const deliveryPageQuerySchema = z.object({
  limit: pageLimit(200, 50),
  cursor: cursorParam(z.tuple([idSchema])).optional(),
  status: z.enum(['pending', 'succeeded', 'failed', 'cancelled']).optional(),
  event_type: z.string().max(200).optional(),
});

export const eventPageQuerySchema = z.object({
  type: z.string().max(2000).optional(),
  after: z.string().max(100).optional().describe('The id of the last event seen (`next_cursor`): continue after it'),
  limit: pageLimit(),
});

export type CreateWebhookInput = z.infer<typeof createWebhookSchema>;
export type UpdateWebhookInput = z.infer<typeof updateWebhookSchema>;

export const endpointViewSchema = z
  .object({
    id: idSchema,
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()).describe('Event types, families (`voucher.*`) or `*`'),
    enabled: z.boolean(),
    format: formatSchema.describe("The body and signature deliveries use: `standard` or Voucherify's (`voucherify`)"),
    disabled_reason: z.enum(['gone', 'failing', 'manual']).nullable(),
    disabled_at: timestampSchema.nullable(),
    failing_since: timestampSchema.nullable().describe('No 2xx since then'),
    previous_secret_expires_at: timestampSchema.nullable().describe('Until then the rotated-out secret signs too'),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  })
  .meta({
    id: 'WebhookEndpoint',
    examples: [
      {
        id: '6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c',
        url: 'https://crm.example.com/hooks/promo',
        description: 'crm',
        events: ['voucher.published', 'voucher.redemption.*'],
        enabled: true,
        format: 'standard',
        disabled_reason: null,
        disabled_at: null,
        failing_since: null,
        previous_secret_expires_at: null,
        created_at: '2026-03-01T09:30:00.000Z',
        updated_at: '2026-03-01T09:30:00.000Z',
      },
    ],
  });

/** Creation and rotation answers: the only times the signing secret leaves the platform. */
export const endpointWithSecretViewSchema = endpointViewSchema.extend({
  secret: z.string().describe('The signing secret (`whsec_…`); shown only now'),
});

export const webhookAttemptSchema = z.object({
  attempt: z.number().int(),
  round: z.number().int().describe('1, then one more per manual retry or replay'),
  attempted_at: timestampSchema,
  status_code: z.number().int().nullable(),
  latency_ms: z.number().int(),
  error: z.string().nullable(),
  response_body: z.string().nullable().describe("The start of the receiver's answer"),
});

export const webhookDeliveryViewSchema = z
  .object({
    id: idSchema,
    endpoint_id: idSchema,
    event_id: idSchema,
    event_type: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed', 'cancelled']),
    attempts: z.number().int(),
    next_attempt_at: timestampSchema.nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    delivered_at: timestampSchema.nullable(),
    created_at: timestampSchema,
    attempt_log: z.array(webhookAttemptSchema),
  })
  .meta({ id: 'WebhookDelivery' });

export type WebhookDeliveryView = z.output<typeof webhookDeliveryViewSchema>;

export const replayAcceptedSchema = z.object({
  replay_id: z.string(),
  endpoint_id: idSchema,
  since: timestampSchema,
  status: z.literal('accepted'),
});

/** `GET /v1/events`: events in commit order. */
export const eventPageSchema = z.object({
  data: z.array(eventEnvelopeSchema),
  next_cursor: z.string().nullable().describe('The id of the last event listed (or the `after` given): pass it as `after`'),
  has_more: z.boolean(),
});

export type EventPage = z.output<typeof eventPageSchema>;
