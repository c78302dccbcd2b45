import type { SegmentCache } from '../../customers/checkout-context.ts';
import type { Platform } from '../../platform.ts';
import type { CandidateLookup } from '../../redemptions/lookup.ts';
import type { RedemptionView } from '../../redemptions/schemas.ts';
import { vouchersByCodes } from './lookups.ts';
import { onceMoreDecoded } from './request.ts';
import type { CompatCall } from './routes.ts';
import { redemptionObject, voucherView } from './translate.ts';

/** What every compatible-API handler works with: the platform and the shared (batching) lookups of validation. */
export interface CompatContext {
  platform: Platform;
  candidates: CandidateLookup;
  segments: SegmentCache;
}

/** Who calls: the key's id is the actor of every change, as on /v1. */
export function actorOf(call: CompatCall): string {
  return call.req.apiKey?.id as string;
}

/** The tracking id of a call: query (the Node SDK encodes it twice), then body. */
export function trackingIdOf(call: CompatCall): string | undefined {
  return onceMoreDecoded(call.query.tracking_id) ?? (typeof call.body.tracking_id === 'string' ? call.body.tracking_id : undefined);
}

/** Redemptions with their vouchers, as Voucherify objects. */
export async function redemptionObjects(ctx: CompatContext, redemptions: RedemptionView[]) {
  const vouchers = await vouchersByCodes(ctx.platform.db, [...new Set(redemptions.map((r) => r.code))]);
  return redemptions.map((r) => {
    const v = vouchers.get(r.code);
    return redemptionObject(r, v ? voucherView(v) : null);
  });
}
