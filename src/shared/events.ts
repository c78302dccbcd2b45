import type { Queryable } from '../db/sql.ts';

/** Who caused a change: an API key id, or a named system job. */
export type Actor = string | null;

/**
 * Appends to a voucher's lifecycle log. Call it inside the transaction that makes the change,
 * so the log and the state can never disagree.
 */
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
