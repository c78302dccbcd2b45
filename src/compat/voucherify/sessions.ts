import { randomUUID } from 'node:crypto';
import { normalizeCode } from '../../codes/index.ts';
import { withGuessingDefence } from '../../http/guessing.ts';
import type { RedeemContext } from '../../redemptions/redemptions.ts';
import {
  confirmReservation,
  createReservation,
  extendReservation,
  getReservation,
  type ReservationResponse,
  releaseReservation,
} from '../../reservations/reservations.ts';
import {
  RESERVATION_DEFAULT_TTL_SECONDS,
  RESERVATION_MAX_TTL_SECONDS,
  type ReservationView,
  reservationRequestSchema,
} from '../../reservations/schemas.ts';
import { DomainError, NotFoundError } from '../../shared/errors.ts';
import { actorOf, type CompatContext } from './context.ts';
import { invalidPayload, notFound, notSupported } from './errors.ts';
import { sessionKey } from './ids.ts';
import { checkFields, fieldTable, isNumber, isString, typed } from './request.ts';
import type { CompatCall } from './routes.ts';

/**
 * Voucherify's validation sessions are the platform's reservations (src/reservations/): a `LOCK` session opened by
 * `POST /v1/validations` holds the codes (counted against every limit and budget, as a redemption is), a
 * `POST /v1/redemptions` with `session.key` confirms it, `DELETE /v1/vouchers/{code}/sessions/{key}` releases it,
 * and the platform's expiry job ends it after its ttl. The platform's key is the reservation's id (`ssn_…`, ids.ts);
 * a key the caller chooses is kept in the reservation's metadata (`voucherify_session_key`), one held reservation per
 * key at a time. Validating again with a held session's key restarts its ttl (same codes, same order) or replaces it.
 */

/** Where a caller-chosen session key is kept: the metadata of the reservation it names. */
const KEY_FIELD = 'voucherify_session_key';
/** Serializes the opening of sessions under one caller key (advisory lock: this number and the key's hash). */
const SESSION_KEY_LOCK = 0x7666736b;

const SECONDS_PER_UNIT = { MILLISECONDS: 0.001, SECONDS: 1, MINUTES: 60, HOURS: 3600, DAYS: 86_400 } as const;
type TtlUnit = keyof typeof SECONDS_PER_UNIT;

export interface SessionRequest {
  ttl: number;
  ttl_unit: TtlUnit;
  seconds: number;
  /** The caller's key (Voucherify lets the caller name the session). */
  key?: string;
}

const SESSION_FIELDS = fieldTable('type ttl ttl_unit key');

/** A validation's `session`: `LOCK` with a ttl in a unit the platform can hold (1 s to 86,400 s), or nothing. */
export function sessionRequest(value: unknown): SessionRequest | undefined {
  if (value === undefined || value === null) return undefined;
  const s = checkFields(value, 'session', SESSION_FIELDS);
  if (s.type !== undefined && s.type !== 'LOCK') throw notSupported('session.type', 'only LOCK');
  const key = typed(s.key, 'session.key', isString, 'a string');
  if (key !== undefined && (key.length === 0 || key.length > 200)) throw invalidPayload('session.key: 1 to 200 characters');
  const named = key === undefined ? {} : { key };
  const unit = (typed(s.ttl_unit, 'session.ttl_unit', isString, 'a string') ?? 'SECONDS') as TtlUnit;
  if (!Object.hasOwn(SECONDS_PER_UNIT, unit)) throw notSupported('session.ttl_unit', 'MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS');
  const ttl = typed(s.ttl, 'session.ttl', isNumber, 'a number');
  if (ttl === undefined) {
    return { ttl: RESERVATION_DEFAULT_TTL_SECONDS, ttl_unit: 'SECONDS', seconds: RESERVATION_DEFAULT_TTL_SECONDS, ...named };
  }
  if (!(ttl > 0)) throw invalidPayload('session.ttl: must be positive');
  const seconds = Math.ceil(ttl * SECONDS_PER_UNIT[unit]);
  if (seconds > RESERVATION_MAX_TTL_SECONDS) {
    throw invalidPayload(`session.ttl: a session lasts at most ${RESERVATION_MAX_TTL_SECONDS} seconds (1 DAYS)`);
  }
  return { ttl, ttl_unit: unit, seconds, ...named };
}

/** Voucherify's `session` object of a validation answer: the caller's key, or the platform's. */
export function sessionObject(reservationId: string, session: SessionRequest) {
  return { key: session.key ?? sessionKey.encode(reservationId), type: 'LOCK' as const, ttl: session.ttl, ttl_unit: session.ttl_unit };
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

type OrderLine = { sku: string; quantity: number; price: number };
type SessionOrder = Record<string, unknown> & { id?: string; amount?: number; items?: OrderLine[] };

function sameCodes(held: readonly string[], asked: readonly string[]): boolean {
  return held.length === asked.length && held.every((c, i) => normalizeCode(c) === normalizeCode(asked[i] as string));
}

/** Whether a held session is the one asked for again: the same codes, in order, for the same order lines and amount. */
function sameSession(held: ReservationView, codes: readonly string[], order: SessionOrder): boolean {
  const lines = (items: readonly OrderLine[] | undefined) => JSON.stringify(items?.map((i) => [i.sku, i.quantity, i.price]) ?? null);
  return (
    sameCodes(
      held.codes.map((c) => c.code),
      codes,
    ) &&
    (order.amount === undefined || order.amount === held.order?.amount) &&
    (order.items === undefined || lines(order.items) === lines(held.order?.items))
  );
}

/**
 * A validation with a held session's key (Voucherify: the same key overrides the session): the same codes for the
 * same order restart its ttl and answer it; anything else releases it, so a new one can be opened under the key.
 */
export async function heldSessionOf(
  ctx: CompatContext,
  call: CompatCall,
  session: SessionRequest,
  codes: readonly string[],
  order: SessionOrder | undefined,
): Promise<ReservationView | null> {
  const held = session.key === undefined ? null : await reservationOfKey(ctx, session.key);
  if (held?.status !== 'held') return null;
  const { db, clock } = ctx.platform;
  if (order && sameSession(held, codes, order)) {
    return extendReservation(db, held.id, new Date(clock.now().getTime() + session.seconds * 1000));
  }
  await releaseReservation(db, held.id, 'voucherify session replaced under its key', actorOf(call), clock.now()).catch((error) => {
    // Confirmed or expired since it was read: nothing is held any more, which is what replacing it needs.
    if (!(error instanceof DomainError && error.kind === 'conflict')) throw error;
  });
  return null;
}

/**
 * Opens the session: the platform's reservation of the codes for the order (an order without an id gets one, as a
 * reservation holds codes for one order). The reservation decides again under its locks, so its refusal stands. A
 * caller's key is opened under an advisory lock on it, so racing validations with one key hold the codes once.
 */
export async function openSession(
  ctx: CompatContext,
  call: CompatCall,
  codes: readonly string[],
  context: { customer?: { id: string; email?: string }; order?: SessionOrder; metadata?: Record<string, unknown> },
  session: SessionRequest,
): Promise<ReservationResponse> {
  const { order } = context;
  if (!order) throw invalidPayload('order: a session holds the codes for one order; give order.amount or order.items');
  const request = reservationRequestSchema.parse({
    codes,
    ...(context.customer ? { customer: context.customer } : {}),
    order: { ...order, id: order.id ?? `voucherify-session-${randomUUID()}` },
    ttl_seconds: session.seconds,
    metadata: { ...(context.metadata ?? {}), ...(session.key === undefined ? {} : { [KEY_FIELD]: session.key }) },
  });
  const { db, queues } = ctx.platform;
  const reserve = () => checkoutWriteOf(ctx, call, request.customer?.id, (redeem) => createReservation(db, queues, request, redeem));
  if (session.key === undefined) return reserve();
  const locked = await db.withAdvisoryLock([SESSION_KEY_LOCK, session.key], { wait: true }, async () => {
    const held = await heldSessionOf(ctx, call, session, codes, order);
    return held ? ({ status: 201, body: held } as const) : reserve();
  });
  if (!locked.locked) throw new Error('a waiting advisory lock is always taken');
  return locked.result;
}

/**
 * The reservation a session key names: the held one first (the platform's own key, `ssn_` and its id, or a key kept
 * in a held reservation's metadata), then any (for a replay, or to say it expired). Caller keys are indexed
 * (Migration1101VoucherifySessionKeys).
 */
async function reservationOfKey(ctx: CompatContext, key: string): Promise<ReservationView | null> {
  const { db } = ctx.platform;
  const id = sessionKey.decode(key);
  const own = id
    ? await getReservation(db, id).catch((error) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      })
    : null;
  if (own?.status === 'held') return own;
  const named = (held: boolean) =>
    db.query<{ id: string }>(
      `select id from reservations where ${held ? "status = 'held' and" : ''} metadata ? '${KEY_FIELD}' and metadata->>'${KEY_FIELD}' = $1
       order by created_at desc limit 1`,
      [key],
    );
  const heldId = (await named(true)).rows[0]?.id;
  if (heldId) return getReservation(db, heldId);
  if (own) return own;
  const latestId = (await named(false)).rows[0]?.id;
  return latestId ? getReservation(db, latestId) : null;
}

async function sessionOfKey(ctx: CompatContext, key: string): Promise<ReservationView> {
  const reservation = await reservationOfKey(ctx, key);
  if (!reservation) throw notFound('session', key);
  return reservation;
}

/** A redemption's `session: {key}`: the session's codes, exactly the request's, confirmed into a redemption group. */
export async function consumeSession(ctx: CompatContext, call: CompatCall, value: unknown, codes: readonly string[]) {
  const s = checkFields(value, 'session', SESSION_FIELDS);
  const key = typed(s.key, 'session.key', isString, 'a string');
  if (!key) throw invalidPayload('session.key: name the session to redeem');
  const reservation = await sessionOfKey(ctx, key);
  const held = reservation.codes.map((c) => c.code);
  if (!sameCodes(held, codes)) throw invalidPayload(`redeemables: session ${key} holds ${held.join(', ')}; redeem exactly those`);
  // The order is the one the session holds (its id may be the one given to an order that had none).
  return confirmReservation(ctx.platform.db, reservation.id, undefined, actorOf(call), ctx.platform.clock.now());
}

/** `DELETE /v1/vouchers/{code}/sessions/{key}`: releases the reservation (the code must be one it holds). */
export async function releaseSession(ctx: CompatContext, call: CompatCall, code: string, key: string): Promise<void> {
  const reservation = await sessionOfKey(ctx, key);
  if (!reservation.codes.some((c) => normalizeCode(c.code) === normalizeCode(code))) throw notFound('session', key);
  try {
    await releaseReservation(ctx.platform.db, reservation.id, 'voucherify session released', actorOf(call), ctx.platform.clock.now());
  } catch (error) {
    if (error instanceof NotFoundError) throw notFound('session', key);
    throw error;
  }
}
