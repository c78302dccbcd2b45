import { randomUUID } from 'node:crypto';
import { normalizeCode } from '../../codes/index.ts';
import { withGuessingDefence } from '../../http/guessing.ts';
import type { RedeemContext } from '../../redemptions/redemptions.ts';
import {
  confirmReservation,
  createReservation,
  getReservation,
  type ReservationResponse,
  releaseReservation,
} from '../../reservations/reservations.ts';
import { RESERVATION_DEFAULT_TTL_SECONDS, RESERVATION_MAX_TTL_SECONDS, reservationRequestSchema } from '../../reservations/schemas.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { actorOf, type CompatContext } from './context.ts';
import { ERROR_CODES, notFound, notSupported, VoucherifyApiError, type VoucherifyKey } from './errors.ts';
import { sessionKey } from './ids.ts';
import { checkFields, isNumber, isString, typed } from './request.ts';
import type { CompatCall } from './routes.ts';

/**
 * Voucherify's validation sessions are the platform's reservations (src/reservations/): a `LOCK` session opened by
 * `POST /v1/validations` holds the codes (counted against every limit and budget, as a redemption is), a
 * `POST /v1/redemptions` with `session.key` confirms it, `DELETE /v1/vouchers/{code}/sessions/{key}` releases it,
 * and the platform's expiry job ends it after its ttl. The key is the reservation's id (`ssn_…`, ids.ts).
 */

const SECONDS_PER_UNIT = { MILLISECONDS: 0.001, SECONDS: 1, MINUTES: 60, HOURS: 3600, DAYS: 86_400 } as const;
type TtlUnit = keyof typeof SECONDS_PER_UNIT;

export interface SessionRequest {
  ttl: number;
  ttl_unit: TtlUnit;
  seconds: number;
}

const invalid = (details: string) => new VoucherifyApiError(ERROR_CODES.validation_failed as VoucherifyKey, details);

/** A validation's `session`: `LOCK` with a ttl in a unit the platform can hold (1 s to 86,400 s), or nothing. */
export function sessionRequest(value: unknown): SessionRequest | undefined {
  if (value === undefined || value === null) return undefined;
  const s = checkFields(value, 'session', {
    type: 'ok',
    ttl: 'ok',
    ttl_unit: 'ok',
    key: { refused: 'the platform names the session (its reservation); leave key out and use the key answered' },
  });
  if (s.type !== undefined && s.type !== 'LOCK') throw notSupported('session.type', 'only LOCK');
  const unit = (typed(s.ttl_unit, 'session.ttl_unit', isString, 'a string') ?? 'SECONDS') as TtlUnit;
  if (!Object.hasOwn(SECONDS_PER_UNIT, unit)) throw notSupported('session.ttl_unit', 'MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS');
  const ttl = typed(s.ttl, 'session.ttl', isNumber, 'a number');
  if (ttl === undefined) return { ttl: RESERVATION_DEFAULT_TTL_SECONDS, ttl_unit: 'SECONDS', seconds: RESERVATION_DEFAULT_TTL_SECONDS };
  if (!(ttl > 0)) throw invalid('session.ttl: must be positive');
  const seconds = Math.ceil(ttl * SECONDS_PER_UNIT[unit]);
  if (seconds > RESERVATION_MAX_TTL_SECONDS) {
    throw invalid(`session.ttl: a session lasts at most ${RESERVATION_MAX_TTL_SECONDS} seconds (1 DAYS)`);
  }
  return { ttl, ttl_unit: unit, seconds };
}

/** Voucherify's `session` object of a validation answer. */
export function sessionObject(reservationId: string, session: SessionRequest) {
  return { key: sessionKey.encode(reservationId), type: 'LOCK' as const, ttl: session.ttl, ttl_unit: session.ttl_unit };
}

/**
 * A compatible-API checkout write (a redemption, a reservation) under the guessing defence, with the RedeemContext
 * /v1's checkoutWrite builds; answers the write's response.
 */
export async function checkoutWriteOf<R extends { status: number }>(
  ctx: CompatContext,
  call: CompatCall,
  customerId: string | undefined,
  write: (redeem: RedeemContext) => Promise<{ response: R; guesses: readonly (string | null)[] }>,
): Promise<R> {
  const result = await withGuessingDefence(
    ctx.platform,
    call.req,
    call.res,
    customerId,
    () => write(redeemContextOf(ctx, call)),
    (r) => ({ guesses: [...r.guesses] }),
  );
  return result.response;
}

function redeemContextOf(ctx: CompatContext, call: CompatCall): RedeemContext {
  const apiKeyId = actorOf(call);
  const { config, clock } = ctx.platform;
  return {
    actor: apiKeyId,
    apiKeyId,
    idempotencyKey: call.req.get('Idempotency-Key') ?? undefined,
    idempotencyTtlSeconds: config.IDEMPOTENCY_KEY_TTL_SECONDS,
    now: clock.now(),
    emailTagDomains: config.EMAIL_TAG_DOMAINS,
  };
}

/**
 * Opens the session: the platform's reservation of the codes for the order (an order without an id gets one, as a
 * reservation holds codes for one order). The reservation decides again under its locks, so its refusal stands.
 */
export async function openSession(
  ctx: CompatContext,
  call: CompatCall,
  codes: readonly string[],
  context: {
    customer?: { id: string; email?: string };
    order?: Record<string, unknown> & { id?: string };
    metadata?: Record<string, unknown>;
  },
  session: SessionRequest,
): Promise<ReservationResponse> {
  if (!context.order) throw invalid('order: a session holds the codes for one order; give order.amount or order.items');
  const request = reservationRequestSchema.parse({
    codes,
    ...(context.customer ? { customer: context.customer } : {}),
    order: { ...context.order, id: context.order.id ?? `voucherify-session-${randomUUID()}` },
    ttl_seconds: session.seconds,
    metadata: context.metadata ?? {},
  });
  const { db, queues } = ctx.platform;
  return checkoutWriteOf(ctx, call, request.customer?.id, (redeem) => createReservation(db, queues, request, redeem));
}

async function reservationOfKey(ctx: CompatContext, key: string) {
  const id = sessionKey.decode(key);
  const reservation = id ? await getReservation(ctx.platform.db, id).catch(() => null) : null;
  if (!reservation) throw notFound('session', key);
  return reservation;
}

/** A redemption's `session: {key}`: the session's codes, exactly the request's, confirmed into a redemption group. */
export async function consumeSession(ctx: CompatContext, call: CompatCall, value: unknown, codes: readonly string[]) {
  const s = checkFields(value, 'session', { key: 'ok', type: 'ok', ttl: 'ok', ttl_unit: 'ok' });
  const key = typed(s.key, 'session.key', isString, 'a string');
  if (!key) throw invalid('session.key: name the session to redeem');
  const reservation = await reservationOfKey(ctx, key);
  const held = reservation.codes.map((c) => normalizeCode(c.code));
  const asked = codes.map((c) => normalizeCode(c));
  if (held.length !== asked.length || held.some((c, i) => c !== asked[i])) {
    throw invalid(`redeemables: session ${key} holds ${held.join(', ')}; redeem exactly those`);
  }
  // The order is the one the session holds (its id may be the one given to an order that had none).
  return confirmReservation(ctx.platform.db, reservation.id, undefined, actorOf(call), ctx.platform.clock.now());
}

/** `DELETE /v1/vouchers/{code}/sessions/{key}`: releases the reservation (the code must be one it holds). */
export async function releaseSession(ctx: CompatContext, call: CompatCall, code: string, key: string): Promise<void> {
  const reservation = await reservationOfKey(ctx, key);
  if (!reservation.codes.some((c) => normalizeCode(c.code) === normalizeCode(code))) throw notFound('session', key);
  try {
    await releaseReservation(ctx.platform.db, reservation.id, 'voucherify session released', actorOf(call), ctx.platform.clock.now());
  } catch (error) {
    if (error instanceof NotFoundError) throw notFound('session', key);
    throw error;
  }
}
