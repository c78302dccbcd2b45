import { type BudgetRefund, refundBudgets } from '../campaigns/budgets.ts';
import { readCustomerContext } from '../customers/checkout-context.ts';
import type { Database, Queryable } from '../db/sql.ts';
import { emitEvent } from '../events/outbox.ts';
import { enqueue } from '../queues/enqueue.ts';
import type { QueueSet } from '../queues/queues.ts';
import { chargeCheckoutBudgets } from '../redemptions/budget-charges.ts';
import { type CodeEvaluation, evaluateCheckout } from '../redemptions/checkout.ts';
import { recordFailures } from '../redemptions/failures.ts';
import type { Candidate } from '../redemptions/lookup.ts';
import {
  CHECKOUT_TRANSACTION,
  checkoutInput,
  emitRefusals,
  findForRedemption,
  groupView,
  guessesOf,
  idempotent,
  type RedeemContext,
  type RedemptionRow,
  refusalOf,
  requestCodes,
  requestHash,
  shownDiscount,
  writeGroup,
  writeRedemption,
} from '../redemptions/redemptions.ts';
import type { RedemptionGroupView, RedemptionRefusal } from '../redemptions/schemas.ts';
import type { CodeResult } from '../rules/checkout.ts';
import type { EffectiveRules } from '../rules/index.ts';
import type { PricedOrder } from '../rules/order-discount.ts';
import { DomainError, NotFoundError } from '../shared/errors.ts';
import type { Actor } from '../shared/events.ts';
import { isoTime } from '../shared/fields.ts';
import { isUuid } from '../shared/uuid.ts';
import { recordVoucherEvent } from '../vouchers/voucher-events.ts';
import type { ReservationRequest, ReservationView } from './schemas.ts';

/**
 * Reservations hold codes for one order between "the shopper applied the code" and "the payment went through". A
 * held use is counted where a redemption's is (the voucher's redemption_count, the customer's counts through
 * reservation_uses, the campaign budget), decided by the very checkout a redemption runs, under the same locks; so
 * every limit holds across reservations and redemptions alike. This module is the one writer of `reservations` and
 * `reservation_uses`; every status change is a conditional UPDATE on `status = 'held'`, so of a confirm, a release,
 * an order cancellation and the expiry sweep racing for one reservation exactly one wins.
 */

export interface ReservationRow {
  id: string;
  status: ReservationView['status'];
  order_id: string;
  order: PricedOrder | null;
  codes: CodeResult[];
  customer_id: string | null;
  customer_email: string | null;
  metadata: Record<string, unknown>;
  api_key_id: string | null;
  expires_at: Date | string;
  group_id: string | null;
  created_at: Date | string;
  confirmed_at: Date | string | null;
  released_at: Date | string | null;
  expired_at: Date | string | null;
  release_reason: string | null;
}

interface UseRow {
  reservation_id: string;
  position: number;
  voucher_id: string;
  campaign_id: string;
  code: string;
  customer_id: string | null;
  status: string;
  discount: ReturnType<typeof shownDiscount>;
  discount_amount: string | null;
  budget_discount: string | null;
  customer_email_key: string | null;
}

export function reservationView(r: ReservationRow): ReservationView {
  return {
    id: r.id,
    status: r.status,
    expires_at: isoTime(r.expires_at) as string,
    codes: r.codes,
    order: r.order,
    customer: r.customer_id ? { id: r.customer_id, ...(r.customer_email ? { email: r.customer_email } : {}) } : null,
    metadata: r.metadata,
    group_id: r.group_id,
    created_at: isoTime(r.created_at) as string,
    confirmed_at: isoTime(r.confirmed_at),
    released_at: isoTime(r.released_at),
    expired_at: isoTime(r.expired_at),
    release_reason: r.release_reason,
  };
}

export type ReservationResponse = { status: 201; body: ReservationView } | { status: 422; body: RedemptionRefusal };

export interface ReserveResult {
  response: ReservationResponse;
  replayed: boolean;
  /** For the guessing defence, as for redemptions. */
  guesses: (string | null)[];
}

/**
 * Holds the codes for the order, all or none, in one transaction: the redemption's checkout (vouchers locked in
 * canonical order, the customer's counts, every rule, the budgets charged), then per code the counted use, its
 * held use row and a lifecycle entry, and `voucher.reservation.created`. A refusal is the redemption's 422 (and
 * its `voucher.redemption.failed` events). The expiry job is enqueued after commit (the reconciler re-creates it).
 */
export async function createReservation(
  db: Database,
  queues: QueueSet,
  request: ReservationRequest,
  ctx: RedeemContext,
): Promise<ReserveResult> {
  const { codes, single } = requestCodes(request);
  const input = checkoutInput(request, codes, ctx.now, ctx.emailTagDomains);
  const hash = ctx.idempotencyKey ? requestHash({ reservation: single ? { ...request, code: codes[0] } : { ...request, codes } }) : '';
  const result = await db.transaction(async (tx): Promise<ReserveResult> => {
    const outcome = await idempotent(tx, ctx, hash, async (): Promise<ReserveResult> => {
      const customerId = request.customer?.id;
      const found = await findForRedemption(tx, input.codes, customerId, input.emailKey);
      const evaluation = await evaluateCheckout(input, found, (id, segments) => readCustomerContext(tx, id, segments));
      const guesses = guessesOf(evaluation.codes);
      const charged = await chargeCheckoutBudgets(tx, evaluation, input, true);
      await emitRefusals(tx, evaluation, input, request.metadata);
      await recordFailures(tx, evaluation, input, 'reservation', ctx.apiKeyId);
      const { answer } = evaluation;
      if (!answer.valid) return { response: { status: 422, body: refusalOf(answer, single) }, replayed: false, guesses };
      const { rows } = await tx.query<ReservationRow>(
        `insert into reservations (status, order_id, "order", codes, customer_id, customer_email, metadata, api_key_id, expires_at, created_at)
         values ('held', $1, $2, $3, $4, $5, $6, $7, $8, $9) returning *`,
        [
          input.order?.id,
          answer.order,
          JSON.stringify(answer.codes),
          customerId ?? null,
          request.customer?.email ?? null,
          request.metadata,
          ctx.apiKeyId,
          new Date(ctx.now.getTime() + request.ttl_seconds * 1000),
          ctx.now,
        ],
      );
      const reservation = rows[0] as ReservationRow;
      for (const [i, code] of answer.codes.entries()) {
        const evaluated = evaluation.codes[i] as CodeEvaluation;
        const voucher = evaluated.candidate as Candidate;
        const rules = evaluated.rules as EffectiveRules;
        // The row is locked, so this cannot miss; the condition keeps the count exact even if a caller skipped the lock.
        const used = await tx.query<{ redemption_count: number }>(
          `update vouchers set redemption_count = redemption_count + 1, held_count = held_count + 1, updated_at = $2
           where id = $1 and ($3::int is null or redemption_count < $3) returning redemption_count`,
          [voucher.id, ctx.now, rules.perCodeLimit],
        );
        if (used.rowCount !== 1) throw new Error('held use could not be recorded under its lock');
        const discount = shownDiscount(rules, code, input.order);
        await tx.query(
          `insert into reservation_uses (reservation_id, position, voucher_id, campaign_id, code, customer_id, status, discount,
             discount_amount, budget_discount, customer_email_key)
           values ($1, $2, $3, $4, $5, $6, 'held', $7, $8, $9, $10)`,
          [
            reservation.id,
            i,
            voucher.id,
            voucher.campaign_id,
            voucher.code,
            customerId ?? null,
            discount,
            discount?.amount ?? null,
            charged[i] ?? null,
            customerId ? input.emailKey : null,
          ],
        );
        await recordVoucherEvent(tx, voucher.id, 'reserved', ctx.actor, {
          reservation_id: reservation.id,
          customer_id: customerId ?? null,
          expires_at: isoTime(reservation.expires_at),
          redemption_count: used.rows[0]?.redemption_count ?? null,
        });
      }
      const view = reservationView(reservation);
      await emitEvent(tx, 'voucher.reservation.created', view);
      return { response: { status: 201, body: view }, replayed: false, guesses };
    });
    return 'replayed' in outcome ? { response: outcome.replayed as ReservationResponse, replayed: true, guesses: [] } : outcome.fresh;
  }, CHECKOUT_TRANSACTION);
  const r = result.response;
  if (r.status === 201 && !result.replayed) {
    const delay = Math.max(0, Date.parse(r.body.expires_at) - Date.now());
    // A lost enqueue is repaired by the reconciler (DURABLE_WORK 'reservation.expire'), and the sweep catches any.
    await enqueue(queues, 'reservation.expire', { reservationId: r.body.id }, { delay }).catch(() => undefined);
  }
  return result;
}

export async function getReservation(db: Queryable, id: string): Promise<ReservationView> {
  return reservationView(await findReservation(db, id));
}

/**
 * Moves a held reservation's expiry (a Voucherify session validated again with its key); null when it is no longer
 * held. The expiry job enqueued at creation finds it not yet due; the sweep expires it at its new time.
 */
export async function extendReservation(db: Queryable, id: string, expiresAt: Date): Promise<ReservationView | null> {
  const { rows } = await db.query<ReservationRow>(`update reservations set expires_at = $2 where id = $1 and status = 'held' returning *`, [
    id,
    expiresAt,
  ]);
  return rows[0] ? reservationView(rows[0]) : null;
}

async function findReservation(db: Queryable, id: string): Promise<ReservationRow> {
  const { rows } = isUuid(id) ? await db.query<ReservationRow>('select * from reservations where id = $1', [id]) : { rows: [] };
  if (!rows[0]) throw new NotFoundError('reservation', id);
  return rows[0];
}

function reservationConflict(status: ReservationView['status']): DomainError {
  if (status === 'released') return new DomainError('conflict', 'reservation_released', 'This reservation was released.');
  if (status === 'confirmed') return new DomainError('conflict', 'reservation_confirmed', 'This reservation was confirmed.');
  return new DomainError('conflict', 'reservation_expired', 'This reservation expired before it was confirmed.');
}

async function groupOf(tx: Queryable, groupId: string): Promise<RedemptionGroupView> {
  const group = await tx.query<Parameters<typeof groupView>[0]>('select * from redemption_groups where id = $1', [groupId]);
  const members = await tx.query<RedemptionRow>('select * from redemptions where group_id = $1 order by seq', [groupId]);
  return groupView(group.rows[0] as Parameters<typeof groupView>[0], members.rows);
}

/**
 * Turns a held reservation into a redemption group, in one transaction: the conditional UPDATE (still held, not
 * expired at `now`) lets exactly one of a confirm and the expiry sweep through. The uses are already counted: each
 * becomes a redemption (with what it took from its budget) and leaves held_count. Confirming again returns the same
 * group; after expiry 409 reservation_expired, after release 409 reservation_released.
 */
export async function confirmReservation(
  db: Database,
  id: string,
  orderId: string | undefined,
  actor: Actor,
  now: Date,
): Promise<RedemptionGroupView> {
  if (!isUuid(id)) throw new NotFoundError('reservation', id);
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<ReservationRow>(
      `update reservations set status = 'confirmed', confirmed_at = $2 where id = $1 and status = 'held' and expires_at > $2 returning *`,
      [id, now],
    );
    const reservation = rows[0];
    if (!reservation) {
      const current = await findReservation(tx, id);
      if (current.status === 'confirmed' && current.group_id) return groupOf(tx, current.group_id);
      throw reservationConflict(current.status);
    }
    if (orderId !== undefined && orderId !== reservation.order_id) {
      throw new DomainError('conflict', 'order_mismatch', `This reservation holds codes for order ${reservation.order_id}.`);
    }
    const uses = await tx.query<UseRow>(
      `update reservation_uses set status = 'confirmed' where reservation_id = $1 and status = 'held' returning *`,
      [id],
    );
    const customer = reservation.customer_id
      ? { id: reservation.customer_id, ...(reservation.customer_email ? { email: reservation.customer_email } : {}) }
      : null;
    const group = await writeGroup(tx, {
      mode: 'all',
      orderId: reservation.order_id,
      order: reservation.order,
      codes: reservation.codes,
      customer,
      metadata: reservation.metadata,
      apiKeyId: reservation.api_key_id,
      now,
    });
    const order = reservation.order
      ? { id: reservation.order_id, amount: reservation.order.amount, currency: reservation.order.currency }
      : null;
    const redeemed: RedemptionRow[] = [];
    for (const use of [...uses.rows].sort((a, b) => a.position - b.position)) {
      const voucher = await tx.query<{ redemption_count: number }>(
        'update vouchers set held_count = held_count - 1, updated_at = $2 where id = $1 returning redemption_count',
        [use.voucher_id, now],
      );
      redeemed.push(
        await writeRedemption(tx, {
          voucher: {
            id: use.voucher_id,
            campaign_id: use.campaign_id,
            code: use.code,
            redemption_count: voucher.rows[0]?.redemption_count ?? 0,
          },
          customer,
          emailKey: use.customer_email_key,
          order,
          discount: use.discount,
          metadata: reservation.metadata,
          apiKeyId: reservation.api_key_id,
          idempotencyKey: null,
          actor,
          now,
          groupId: group.id,
          budgetDiscount: use.budget_discount === null ? null : Number(use.budget_discount),
        }),
      );
    }
    const confirmed = await tx.query<ReservationRow>('update reservations set group_id = $2 where id = $1 returning *', [id, group.id]);
    const view = groupView(group, redeemed);
    await emitEvent(tx, 'redemption.group.succeeded', view);
    await emitEvent(tx, 'voucher.reservation.confirmed', reservationView(confirmed.rows[0] as ReservationRow));
    return view;
  }, CHECKOUT_TRANSACTION);
}

/** Gives a reservation's held uses back (its row already moved to released or expired): counts, budgets, log. */
async function giveBackUses(
  tx: Queryable,
  reservation: ReservationRow,
  to: 'released' | 'expired',
  actor: Actor,
  now: Date,
  refunds: BudgetRefund[],
): Promise<void> {
  const uses = await tx.query<UseRow>(`update reservation_uses set status = $2 where reservation_id = $1 and status = 'held' returning *`, [
    reservation.id,
    to,
  ]);
  // Voucher rows in id order, as every redemption locks them.
  for (const use of [...uses.rows].sort((a, b) => Number(a.voucher_id) - Number(b.voucher_id))) {
    const voucher = await tx.query<{ redemption_count: number }>(
      `update vouchers set redemption_count = redemption_count - 1, held_count = held_count - 1, updated_at = $2
       where id = $1 returning redemption_count`,
      [use.voucher_id, now],
    );
    if (use.budget_discount !== null) {
      refunds.push({ campaignId: use.campaign_id, customerId: use.customer_id, amount: Number(use.budget_discount) });
    }
    await recordVoucherEvent(tx, use.voucher_id, to === 'released' ? 'reservation_released' : 'reservation_expired', actor, {
      reservation_id: reservation.id,
      ...(reservation.release_reason ? { reason: reservation.release_reason } : {}),
      redemption_count: voucher.rows[0]?.redemption_count ?? null,
    });
  }
}

/**
 * Releases a held reservation inside the caller's transaction; null when it was not held (the caller decides). Budget
 * refunds go to `collect` when the caller gathers them (to apply last), else are applied here.
 */
export async function releaseHeld(
  tx: Queryable,
  id: string,
  reason: string | undefined,
  actor: Actor,
  now: Date,
  collect?: BudgetRefund[],
): Promise<ReservationRow | null> {
  const { rows } = await tx.query<ReservationRow>(
    `update reservations set status = 'released', released_at = $2, release_reason = $3 where id = $1 and status = 'held' returning *`,
    [id, now, reason ?? null],
  );
  const reservation = rows[0];
  if (!reservation) return null;
  const refunds = collect ?? [];
  await giveBackUses(tx, reservation, 'released', actor, now, refunds);
  if (!collect) await refundBudgets(tx, refunds);
  await emitEvent(tx, 'voucher.reservation.released', reservationView(reservation));
  return reservation;
}

/** Gives the uses back, once: releasing again answers the released reservation; a confirmed or expired one is 409. */
export async function releaseReservation(
  db: Database,
  id: string,
  reason: string | undefined,
  actor: Actor,
  now: Date,
): Promise<ReservationView> {
  if (!isUuid(id)) throw new NotFoundError('reservation', id);
  return db.transaction(async (tx) => {
    const released = await releaseHeld(tx, id, reason, actor, now);
    if (released) return reservationView(released);
    const current = await findReservation(tx, id);
    if (current.status === 'released') return reservationView(current);
    throw reservationConflict(current.status);
  }, CHECKOUT_TRANSACTION);
}

/**
 * Expires the held reservations due at `now` (or only `ids`), a batch per transaction: the batch's rows are taken
 * with `FOR UPDATE SKIP LOCKED` (a reservation being confirmed or released right now is skipped, and if that one
 * commits it is no longer held), moved to expired by the same conditional UPDATE, and their uses given back with
 * lifecycle entries and `voucher.reservation.expired`. Returns how many expired.
 */
export async function expireReservations(
  db: Database,
  now: Date,
  options: { batchSize: number; ids?: readonly string[] },
): Promise<number> {
  let total = 0;
  for (;;) {
    const expired = await db.transaction(async (tx) => {
      const { rows } = await tx.query<ReservationRow>(
        `with due as (
           select id from reservations where status = 'held' and expires_at <= $1 and ($3::uuid[] is null or id = any($3::uuid[]))
           order by expires_at limit $2 for update skip locked
         )
         update reservations r set status = 'expired', expired_at = $1 from due where r.id = due.id and r.status = 'held' returning r.*`,
        [now, options.batchSize, options.ids ?? null],
      );
      const refunds: BudgetRefund[] = [];
      for (const reservation of rows) {
        await giveBackUses(tx, reservation, 'expired', 'system:reservation-expiry', now, refunds);
        await emitEvent(tx, 'voucher.reservation.expired', reservationView(reservation));
      }
      await refundBudgets(tx, refunds);
      return rows.length;
    });
    total += expired;
    if (expired < options.batchSize) return total;
  }
}

/** The reservations of an order, oldest first. */
export async function reservationsOfOrder(db: Queryable, orderId: string): Promise<ReservationRow[]> {
  const { rows } = await db.query<ReservationRow>('select * from reservations where order_id = $1 order by created_at, id', [orderId]);
  return rows;
}

/** The latest reservations that held a code (the console's Code page). */
export async function reservationsOfCode(db: Queryable, code: string, limit = 20): Promise<ReservationView[]> {
  const { rows } = await db.query<ReservationRow>(
    `select r.* from reservations r where r.id in (select u.reservation_id from reservation_uses u
       where u.voucher_id = (select id from vouchers where code = $1)) order by r.created_at desc limit $2`,
    [code, limit],
  );
  return rows.map(reservationView);
}
