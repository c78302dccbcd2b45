import { z } from 'zod';
import { budgetSchema, budgetUsageSchema } from '../campaigns/schemas.ts';
import { customerViewSchema } from '../customers/schemas.ts';
import { customerSchema } from '../delivery/schemas.ts';
import { redemptionGroupViewSchema, redemptionViewSchema } from '../redemptions/schemas.ts';
import { reservationViewSchema } from '../reservations/schemas.ts';
import { CHECKOUT_REASONS, failedRuleSchema } from '../rules/checkout.ts';
import { idSchema, metadataSchema, timestampSchema } from '../shared/fields.ts';
import { voucherViewSchema } from '../vouchers/schemas.ts';

/**
 * Every event the platform writes to the outbox, with its payload (`data`) schema: the outbox writer is typed by
 * it, webhook subscriptions are checked against it, and the OpenAPI document's `webhooks` section is built from it.
 * Business events (`POST /v1/events`) are passed on under their own type, in any namespace the platform does not
 * use (the namespaces of the types below are reserved).
 */

/** Timestamps in payloads: ISO 8601, `Z` or an offset (statements that build payloads in SQL write `+00:00`). */
const at = z.iso.datetime({ offset: true });

const redemptionEvent = redemptionViewSchema.extend({ voucher_id: z.string().describe("The voucher's internal id") });
const voucherStateEvent = voucherViewSchema.extend({ reason: z.string().optional().describe('Why, when the caller said') });
const generationOutcome = {
  generation_id: idSchema,
  campaign_id: idSchema,
  requested: z.number().int(),
  generated: z.number().int(),
};

const importOutcome = {
  import_id: idSchema,
  campaign_id: idSchema,
  received: z.number().int().describe('Rows in the upload'),
  imported: z.number().int().describe('Codes written'),
  rejected: z.number().int().describe('Rows refused, each with its reason in the error report'),
  errors_url: z.string().describe('The per-row error report (CSV)'),
};

export const EVENT_CATALOG = {
  'campaign.generation.completed': {
    summary: 'A bulk generation finished (one event per generation, not per code)',
    payload: z.object({ ...generationOutcome, status: z.enum(['completed', 'exhausted']).describe('exhausted: the code space ran out') }),
  },
  'campaign.generation.failed': {
    summary: 'A bulk generation failed: some chunks could not be written',
    payload: z.object({ ...generationOutcome, status: z.literal('failed'), error: z.string() }),
  },
  'campaign.import.completed': {
    summary: 'An import of existing codes finished (one event per import, not per code); rejected rows are in its report',
    payload: z.object({ ...importOutcome, status: z.literal('completed') }),
  },
  'campaign.import.failed': {
    summary: 'An import failed: some chunks could not be written (their rows are in the report as not_processed)',
    payload: z.object({ ...importOutcome, status: z.literal('failed'), error: z.string() }),
  },
  'campaign.expired': {
    summary: 'A campaign expired: its expiration date passed and the sweep expired all of its codes',
    payload: z.object({ campaign_id: idSchema, name: z.string(), expiration_date: at, expired_at: at }),
  },
  'campaign.budget.exhausted': {
    summary: "A campaign's budget ran out (once; again only after it is raised and runs out again)",
    payload: budgetUsageSchema.extend({ campaign_id: idSchema, budget: budgetSchema }),
  },
  'voucher.created': { summary: 'A standalone voucher was created', payload: voucherViewSchema },
  'voucher.updated': {
    summary: "A voucher's dates, rule overrides or metadata changed (enabling and disabling have events of their own)",
    payload: voucherViewSchema.extend({
      changed: z.array(z.enum(['start_date', 'expiration_date', 'rules', 'metadata'])).describe('The fields the update set'),
    }),
  },
  'voucher.enabled': { summary: 'A voucher was enabled again', payload: voucherStateEvent },
  'voucher.disabled': { summary: 'A voucher was disabled', payload: voucherStateEvent },
  'voucher.deleted': {
    summary: 'A voucher was deleted (through the Voucherify-compatible API): disabled and hidden, its lifecycle log kept',
    payload: voucherViewSchema.extend({ force: z.boolean().describe('Hidden for good (`force=true`)') }),
  },
  'voucher.published': {
    summary: 'A code was given to a customer (publication, distribution or trigger)',
    payload: z.object({
      publication_id: idSchema,
      campaign_id: idSchema,
      code: z.string(),
      customer_id: z.string(),
      source_id: z.string().nullable(),
      channel: z.enum(['email', 'sms', 'none']),
      distribution_id: idSchema.nullable(),
      published_at: at,
    }),
  },
  'voucher.expired': {
    summary: "A voucher's expiration date passed (the sweep)",
    payload: z.object({ code: z.string(), campaign_id: idSchema, expiration_date: at, expired_at: at }),
  },
  'voucher.expiring_soon': {
    summary: "A published voucher expires within its campaign's reminder window (once per voucher)",
    payload: z.object({
      code: z.string(),
      campaign_id: idSchema,
      expiration_date: at,
      customer_id: z.string(),
      publication_id: idSchema,
      channel: z.enum(['email', 'sms']),
      days_before: z.number().int(),
    }),
  },
  'voucher.redemption.succeeded': { summary: 'A code was redeemed', payload: redemptionEvent },
  'voucher.redemption.failed': {
    summary: 'A redemption of an existing code was refused (guesses of unknown codes are not events)',
    payload: z.object({
      code: z.string(),
      campaign_id: idSchema,
      reason: z.enum(CHECKOUT_REASONS),
      rule: failedRuleSchema.optional().describe('The check that failed, for rule_not_met'),
      customer_id: z.string().nullable(),
      order: z.object({ id: z.string().optional(), amount: z.number().int(), currency: z.string() }).nullable(),
      metadata: metadataSchema,
      attempted_at: at,
    }),
  },
  'voucher.redemption.rolled_back': { summary: 'A redemption was rolled back (the code can be used again)', payload: redemptionEvent },
  'voucher.reservation.created': { summary: 'Codes were held for an order (POST /v1/reservations)', payload: reservationViewSchema },
  'voucher.reservation.confirmed': {
    summary: 'A reservation was confirmed: its held uses became a redemption group (`group_id`)',
    payload: reservationViewSchema,
  },
  'voucher.reservation.released': {
    summary: 'A reservation was released (by the caller, or by its order being cancelled): its uses are back',
    payload: reservationViewSchema,
  },
  'voucher.reservation.expired': {
    summary: 'A reservation was not confirmed in time: the sweep gave its uses back',
    payload: reservationViewSchema,
  },
  'redemption.group.succeeded': {
    summary: 'Several codes were redeemed together for one order (besides one voucher.redemption.succeeded per code)',
    payload: redemptionGroupViewSchema,
  },
  // `customers.`, not `customer.`: the `customer` namespace stays free for business events such as customer.created.
  'customers.created': {
    summary: 'A stored customer was created (PUT /v1/customers/{id}, or the Voucherify-compatible POST /v1/customers)',
    payload: customerViewSchema,
  },
  'webhook.endpoint.disabled': {
    summary: 'A webhook endpoint was disabled: it answered 410 Gone, or failed for WEBHOOK_DISABLE_AFTER_MS',
    payload: z.object({
      endpoint_id: idSchema,
      url: z.string(),
      reason: z.enum(['gone', 'failing']),
      failing_since: at.nullable(),
      disabled_at: at,
    }),
  },
} as const satisfies Record<string, { summary: string; payload: z.ZodType }>;

export type PlatformEventType = keyof typeof EVENT_CATALOG;

export const PLATFORM_EVENT_TYPES = Object.keys(EVENT_CATALOG) as PlatformEventType[];

type ReservedNamespace = PlatformEventType extends `${infer Namespace}.${string}` ? Namespace : never;

/** The namespaces platform events use; a business event may not use one. */
export const RESERVED_NAMESPACES = [...new Set(PLATFORM_EVENT_TYPES.map((t) => t.split('.')[0] as ReservedNamespace))];

/** What a business event reported with `POST /v1/events` is passed on with. */
export const businessEventPayloadSchema = z.object({
  event_id: idSchema,
  source_id: z.string().nullable().describe('Your id for the event, if given'),
  customer: customerSchema,
  data: z.record(z.string(), z.unknown()),
  occurred_at: at,
});

/** The payload an event of type `T` carries; `never` for a type in a reserved namespace that the catalogue lacks. */
export type EventPayload<T extends string> = T extends PlatformEventType
  ? z.input<(typeof EVENT_CATALOG)[T]['payload']>
  : T extends `${ReservedNamespace}.${string}`
    ? never
    : z.input<typeof businessEventPayloadSchema>;

export function isPlatformEventType(type: string): type is PlatformEventType {
  return Object.hasOwn(EVENT_CATALOG, type);
}

export function isReservedEventType(type: string): boolean {
  return (RESERVED_NAMESPACES as string[]).includes(type.split('.')[0] ?? '');
}

/** The payload schema of an event type, or null for a type in a reserved namespace that does not exist. */
export function payloadSchema(type: string): z.ZodType | null {
  if (isPlatformEventType(type)) return EVENT_CATALOG[type].payload;
  return isReservedEventType(type) ? null : businessEventPayloadSchema;
}

/**
 * Whether a subscription filter (`voucher.published`, `voucher.*`, `*`) can match anything: a platform type, a
 * family of some, everything, or business events (any type or family outside the reserved namespaces).
 */
export function isKnownEventFilter(filter: string): boolean {
  if (filter === '*') return true;
  if (filter.endsWith('.*')) {
    const family = filter.slice(0, -1);
    return isReservedEventType(filter) ? PLATFORM_EVENT_TYPES.some((t) => t.startsWith(family)) : true;
  }
  return isPlatformEventType(filter) || !isReservedEventType(filter);
}

function componentName(type: string): string {
  return `${type.replace(/(^|[._])([a-z])/g, (_m, _sep, c: string) => c.toUpperCase())}Event`;
}

function envelope<T extends z.ZodType, D extends z.ZodType>(type: T, data: D) {
  return z.object({
    id: idSchema.describe('The event id (also in GET /v1/events)'),
    type,
    created_at: timestampSchema,
    data,
  });
}

type PayloadSchema<T extends PlatformEventType> = (typeof EVENT_CATALOG)[T] extends { payload: infer P extends z.ZodType } ? P : never;
type Envelope<T extends PlatformEventType> = ReturnType<typeof envelope<z.ZodLiteral<T>, PayloadSchema<T>>>;

/** One event as webhooks deliver it and GET /v1/events lists it, per type. */
export const EVENT_ENVELOPES = Object.fromEntries(
  PLATFORM_EVENT_TYPES.map((type) => [type, envelope(z.literal(type), EVENT_CATALOG[type].payload).meta({ id: componentName(type) })]),
) as unknown as { [T in PlatformEventType]: Envelope<T> };

const businessType = new RegExp(`^(?!(${RESERVED_NAMESPACES.join('|')})\\.)[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$`);

export const businessEventEnvelopeSchema = envelope(
  z.string().regex(businessType).describe('The type it was reported with, e.g. order.created'),
  businessEventPayloadSchema,
).meta({ id: 'BusinessEventPassedOn' });

/** Any event: one of the catalogue's, or a business event passed on. */
export const eventEnvelopeSchema = z.union([
  ...(Object.values(EVENT_ENVELOPES) as Envelope<PlatformEventType>[]),
  businessEventEnvelopeSchema,
]);
