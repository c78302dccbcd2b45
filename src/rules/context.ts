import type { Metadata, NormalizedOrder } from './order.ts';
import { localTime } from './time-zone.ts';

/** Everything a condition can read about one code's use: built once per code per request, read by compiled checks. */

export interface Customer {
  id: string;
  /** The stored customer's metadata with the request's laid over it (see overlayCustomer). */
  metadata: Metadata | null;
}

/** Segment membership for one customer, answered lazily and remembered (see SegmentCatalogue.membership). */
export interface SegmentMembership {
  isMember(name: string): boolean;
}

export interface EvaluationInput {
  order: NormalizedOrder | null;
  customer: Customer | null;
  /** The request's `metadata` (the redemption's). */
  redemptionMetadata: Metadata | null;
  /** Succeeded redemptions by this customer across the code's campaign (read when a customer is given). */
  customerRedemptionsInCampaign: number;
  now: Date;
  /** The campaign's IANA time zone, for `now.*`. */
  timeZone: string;
  /** Shared by every code of one request, so a segment is evaluated at most once per customer. */
  segments: SegmentMembership | null;
}

export interface EvaluationContext extends Readonly<EvaluationInput> {
  /** Computed on the first read of a `now.*` field. */
  local: { weekday: number; minutes: number } | null;
}

export function evaluationContext(input: EvaluationInput): EvaluationContext {
  return {
    order: input.order,
    customer: input.customer,
    redemptionMetadata: input.redemptionMetadata,
    customerRedemptionsInCampaign: input.customerRedemptionsInCampaign,
    now: input.now,
    timeZone: input.timeZone,
    segments: input.segments,
    local: null,
  };
}

/** The ISO weekday and minute of the day of `now` in the campaign's time zone. */
export function localNow(ctx: EvaluationContext): { weekday: number; minutes: number } {
  if (ctx.local === null) ctx.local = localMinute(ctx.now, ctx.timeZone);
  return ctx.local;
}

const lastLocalMinute = new Map<string, { minute: number; local: { weekday: number; minutes: number } }>();

/**
 * localTime remembered per time zone for the current minute: Intl's formatToParts costs microseconds, and every
 * validation in one minute asks the same question (time zone offsets are whole minutes).
 */
function localMinute(now: Date, timeZone: string): { weekday: number; minutes: number } {
  const minute = Math.floor(now.getTime() / 60_000);
  const last = lastLocalMinute.get(timeZone);
  if (last && last.minute === minute) return last.local;
  const local = Object.freeze(localTime(now, timeZone));
  if (lastLocalMinute.size >= 1000) lastLocalMinute.clear();
  lastLocalMinute.set(timeZone, { minute, local });
  return local;
}

/**
 * The customer conditions see: the request's customer, with its `metadata` laid key by key over the stored
 * customer's (the request wins). Null when the request names no customer.
 */
export function overlayCustomer(
  given: { id: string; metadata?: Metadata | null } | null | undefined,
  stored: { metadata?: Metadata | null } | null | undefined,
): Customer | null {
  if (!given) return null;
  const base = stored?.metadata ?? null;
  const over = given.metadata ?? null;
  return { id: given.id, metadata: base && over ? { ...base, ...over } : (over ?? base) };
}
