import type { SegmentCache } from '../../customers/checkout-context.ts';
import type { Platform } from '../../platform.ts';
import type { CandidateLookup } from '../../redemptions/lookup.ts';
import type { RedemptionView } from '../../redemptions/schemas.ts';
import { notFound, notSupported } from './errors.ts';
import { customerId } from './ids.ts';
import { vouchersByCodes } from './lookups.ts';
import { checkFields, intParam, isObject, isString, onceMoreDecoded, typed } from './request.ts';
import type { CompatCall } from './routes.ts';
import { redemptionObject, voucherView } from './translate.ts';

/** What every compatible-API handler works with: the platform and the shared (batching) lookups of validation. */
export interface CompatContext {
  platform: Platform;
  candidates: CandidateLookup;
  segments: SegmentCache;
}

const MAX_PAGE = 99;
const MAX_LIMIT = 100;

/** Who calls: the key's id is the actor of every change, as on /v1. */
export function actorOf(call: CompatCall): string {
  return call.req.apiKey?.id as string;
}

export interface CustomerInput {
  id: string;
  email?: string;
  name?: string;
  phone?: string;
  metadata?: Record<string, unknown>;
}

/** Voucherify's customer object (`id` = `cust_…`, or `source_id`) as the platform's customer; the tracking id stands in. */
export function customerInput(value: unknown, trackingId?: string): CustomerInput | undefined {
  if (value === undefined || value === null) return trackingId ? { id: trackingId } : undefined;
  const c = checkFields(value, 'customer', {
    id: 'ok',
    source_id: 'ok',
    email: 'ok',
    name: 'ok',
    metadata: 'ok',
    object: 'ok',
    phone: 'ok',
    description: { refused: 'customer descriptions are not stored; use metadata' },
    address: { refused: 'customer addresses are not stored' },
    birthdate: { refused: 'customer birthdates are not stored' },
    birthday: { refused: 'customer birthdates are not stored' },
  });
  const sourceId = typed(c.source_id, 'customer.source_id', isString, 'a string');
  const id = typed(c.id, 'customer.id', isString, 'a string');
  if (id && !sourceId && !customerId.decode(id)) throw notFound('customer', id);
  const platformId = sourceId ?? (id ? customerId.decode(id) : null) ?? trackingId;
  if (!platformId) return undefined;
  const email = typed(c.email, 'customer.email', isString, 'a string');
  const name = typed(c.name, 'customer.name', isString, 'a string');
  const phone = typed(c.phone, 'customer.phone', isString, 'a string');
  const metadata =
    c.metadata === undefined || c.metadata === null ? undefined : typed(c.metadata, 'customer.metadata', isObject, 'an object');
  return {
    id: platformId,
    ...(email ? { email } : {}),
    ...(name ? { name } : {}),
    ...(phone ? { phone } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

/** A customer named in a query or path: `cust_…` or the source id. */
export function customerRefId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return customerId.decode(value) ?? value;
}

/** The tracking id of a call: query (the Node SDK encodes it twice), then body. */
export function trackingIdOf(call: CompatCall): string | undefined {
  return onceMoreDecoded(call.query.tracking_id) ?? (typeof call.body.tracking_id === 'string' ? call.body.tracking_id : undefined);
}

/** Walks the platform's keyset pages to Voucherify's page number (at most 99 pages of 100, as Voucherify). */
export async function pageOfPages<T, C>(
  page: number,
  limit: number,
  fetch: (limit: number, cursor: C | undefined) => Promise<{ data: T[]; next: C | undefined }>,
): Promise<T[]> {
  let cursor: C | undefined;
  for (let p = 1; ; p++) {
    const { data, next } = await fetch(limit, cursor);
    if (p === page) return data;
    if (next === undefined) return [];
    cursor = next;
  }
}

export function paging(query: Record<string, unknown>): { page: number; limit: number } {
  return { page: intParam(query.page, 'page', 1, MAX_PAGE, 1), limit: intParam(query.limit, 'limit', 1, MAX_LIMIT, 10) };
}

/** Query parameters a list honours; any other is 400 `not_supported` naming it. */
export function onlyParams(query: Record<string, unknown>, allowed: string[]): void {
  for (const name of Object.keys(query)) {
    if (!allowed.includes(name)) throw notSupported(name, 'this query parameter is not supported by the compatible API');
  }
}

export function metadataOf(value: unknown, field = 'metadata'): Record<string, unknown> | undefined {
  return value === undefined || value === null ? undefined : typed(value, field, isObject, 'an object');
}

/** Redemptions with their vouchers, as Voucherify objects. */
export async function redemptionObjects(ctx: CompatContext, redemptions: RedemptionView[]) {
  const vouchers = await vouchersByCodes(ctx.platform.db, [...new Set(redemptions.map((r) => r.code))]);
  return redemptions.map((r) => {
    const v = vouchers.get(r.code);
    return redemptionObject(r, v ? voucherView(v) : null);
  });
}
