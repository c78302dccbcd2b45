import { type BudgetRefund, refundBudgets } from '../campaigns/budgets.ts';
import type { Database, Queryable } from '../db/sql.ts';
import { redemptionsOfOrder, rollbackOrderRedemptions } from '../redemptions/redemptions.ts';
import { confirmReservation, releaseHeld, reservationsOfOrder, reservationView } from '../reservations/reservations.ts';
import { DomainError, NotFoundError } from '../shared/errors.ts';
import type { Actor } from '../shared/events.ts';
import { ORDER_EVENT_TYPES, type OrderView } from './schemas.ts';

/**
 * Orders that change after checkout. The platform keeps no order of its own: an order is the redemptions and
 * reservations made with its id. Cancelling (or refunding) one rolls back every redemption and releases every held
 * reservation of it in one transaction, each by its own conditional UPDATE: run twice, concurrently with a manual
 * rollback, or again after a worker died mid-way (the transaction rolled back), it gives each use back exactly once.
 */

export async function getOrder(db: Queryable, id: string): Promise<OrderView> {
  const [redemptions, reservations] = await Promise.all([redemptionsOfOrder(db, id), reservationsOfOrder(db, id)]);
  if (redemptions.length === 0 && reservations.length === 0) throw new NotFoundError('order', id);
  const status = reservations.some((r) => r.status === 'held')
    ? 'held'
    : redemptions.some((r) => r.status === 'succeeded')
      ? 'redeemed'
      : redemptions.length > 0 || reservations.some((r) => r.status === 'released')
        ? 'cancelled'
        : 'open';
  return { id, status, redemptions, reservations: reservations.map(reservationView) };
}

export async function cancelOrder(db: Database, id: string, reason: string | undefined, actor: Actor, now: Date): Promise<OrderView> {
  await getOrder(db, id);
  await db.transaction(async (tx) => {
    // Redemptions (their rows, then vouchers), then holds, then every budget refund last: the order in which a
    // manual rollback and a redemption take the same rows, so none of them waits for the other in a cycle.
    const refunds: BudgetRefund[] = [];
    await rollbackOrderRedemptions(tx, id, reason ?? 'order cancelled', actor, now, refunds);
    for (const reservation of await reservationsOfOrder(tx, id)) {
      if (reservation.status === 'held') await releaseHeld(tx, reservation.id, reason ?? 'order cancelled', actor, now, refunds);
    }
    await refundBudgets(tx, refunds);
  });
  return getOrder(db, id);
}

export type OrderEventOutcome = { order_id: string; action: 'cancelled' | 'confirmed' | 'nothing_to_do'; error?: string };

/** What an order event (order.cancelled, order.refunded, order.paid) did; null for another event type. */
export async function applyOrderEvent(
  db: Database,
  event: { id: string; type: string; data: Record<string, unknown> },
  now: Date,
): Promise<OrderEventOutcome | null> {
  if (!(ORDER_EVENT_TYPES as readonly string[]).includes(event.type)) return null;
  const orderId = typeof event.data.order_id === 'string' ? event.data.order_id : null;
  if (!orderId) return { order_id: '', action: 'nothing_to_do', error: 'data.order_id is missing' };
  const actor = `event:${event.id}`;
  if (event.type === 'order.paid') {
    const held = (await reservationsOfOrder(db, orderId)).filter((r) => r.status === 'held');
    for (const reservation of held) {
      try {
        await confirmReservation(db, reservation.id, undefined, actor, now);
      } catch (error) {
        // Expired or released meanwhile: the payment came too late for the hold; the caller's webhook shows it.
        if (error instanceof DomainError && error.kind === 'conflict') {
          return { order_id: orderId, action: 'nothing_to_do', error: error.code };
        }
        throw error;
      }
    }
    return { order_id: orderId, action: held.length > 0 ? 'confirmed' : 'nothing_to_do' };
  }
  const reason = typeof event.data.reason === 'string' ? event.data.reason : event.type;
  try {
    await cancelOrder(db, orderId, reason, actor, now);
  } catch (error) {
    if (error instanceof NotFoundError) return { order_id: orderId, action: 'nothing_to_do' };
    throw error;
  }
  return { order_id: orderId, action: 'cancelled' };
}
