import type { Queryable } from '../db/sql.ts';
import type { Actor } from '../shared/events.ts';

/**
 * The one writer of `voucher_events`, each voucher's append-only lifecycle log. Every entry is written inside the
 * transaction (or the statement) that makes the change, so the log and the state can never disagree.
 */

/** One entry for one voucher. */
export async function recordVoucherEvent(
  tx: Queryable,
  voucherId: number | string,
  type: string,
  actor: Actor,
  details: Record<string, unknown> = {},
): Promise<void> {
  await tx.query('insert into voucher_events (voucher_id, type, actor, details) values ($1, $2, $3, $4)', [
    voucherId,
    type,
    actor,
    details,
  ]);
}

/** One entry of the same type and actor for each of many vouchers, in one statement. */
export async function recordVoucherEvents(
  tx: Queryable,
  type: string,
  actor: Actor,
  entries: { voucherId: number | string; details: Record<string, unknown> }[],
): Promise<void> {
  if (entries.length === 0) return;
  await tx.query(
    `insert into voucher_events (voucher_id, type, actor, details)
     select voucher_id, $1, $2, details from unnest($3::bigint[], $4::jsonb[]) as t(voucher_id, details)`,
    [type, actor, entries.map((e) => e.voucherId), entries.map((e) => JSON.stringify(e.details))],
  );
}

/**
 * The same, as the body of a data-modifying CTE for a statement that changes vouchers and logs them at once (the
 * expiry sweep): one entry per row of `source`, whose `id` column is the voucher; `type`, `actor` and `details` are
 * SQL expressions over that row and the statement's parameters.
 */
export function voucherEventsFromRows(source: string, entry: { type: string; actor: string; details: string }): string {
  return `insert into voucher_events (voucher_id, type, actor, details)
       select id, ${entry.type}, ${entry.actor}, ${entry.details} from ${source}`;
}

/** What one owner's eraser changed: how many rows, and the vouchers whose lifecycle entries may name the customer. */
export interface CustomerErasure {
  rows: number;
  voucherIds: string[];
}

/**
 * Erasure of a customer: its entries in the log of the given vouchers keep everything but the `customer_id`, which
 * becomes null (the one change the append-only trigger allows, Migration1100CustomerErasure).
 */
export async function eraseVoucherEventCustomer(tx: Queryable, customerId: string, voucherIds: string[]): Promise<number> {
  if (voucherIds.length === 0) return 0;
  const { rowCount } = await tx.query(
    `update voucher_events set details = details || '{"customer_id": null}'::jsonb
     where voucher_id = any ($2::bigint[]) and details ->> 'customer_id' = $1`,
    [customerId, voucherIds],
  );
  return rowCount ?? 0;
}
