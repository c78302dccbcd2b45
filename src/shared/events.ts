import type { Queryable } from '../db/sql.ts';

/** Who caused a change: an API key id, or a named system job. */
export type Actor = string | null;

/**
 * Writes an externally visible event to the transactional outbox. Call it inside the transaction
 * that makes the change: a relay delivers it after commit, and never if the change rolled back.
 */
export async function emitEvent(tx: Queryable, type: string, data: Record<string, unknown>): Promise<string> {
  // No pg_notify here: a notifying commit takes a cluster-wide lock, which cut concurrent commits 4× in a test.
  // The relay polls (OUTBOX_RELAY_INTERVAL_MS) instead.
  const { rows } = await tx.query<{ id: string }>('insert into outbox_events (type, data) values ($1, $2) returning id', [type, data]);
  return (rows[0] as { id: string }).id;
}
