import type { Platform } from '../platform.ts';
import { DomainError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { isUuid } from '../shared/uuid.ts';
import type { EventPage } from '../webhooks/schemas.ts';
import type { Timestamp } from '../webhooks/time.ts';

/**
 * Lists outbox events in commit order for systems catching up on missed webhooks. Ordered by (writing transaction
 * id, seq) and limited to transactions older than every one still running, so an event that commits late can never
 * land behind a cursor a client already holds. `after` is the id of the last event the client saw.
 */
export async function listEvents(platform: Platform, query: { type?: string; after?: string; limit: number }): Promise<EventPage> {
  const params: unknown[] = [query.limit + 1];
  const where = ['txid < pg_snapshot_xmin(pg_current_snapshot())'];
  if (query.type) {
    const types = query.type
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    params.push(types);
    where.push(`type = any($${params.length}::text[])`);
  }
  if (query.after) {
    if (!isUuid(query.after)) throw new DomainError('invalid', 'invalid_cursor', '`after` must be the id of an event.');
    const { rows } = await platform.db.query<{ txid: string; seq: string }>('select txid::text, seq from outbox_events where id = $1', [
      query.after,
    ]);
    const cursor = rows[0];
    if (!cursor) throw new DomainError('invalid', 'invalid_cursor', '`after` is not the id of a known event.');
    params.push(cursor.txid, cursor.seq);
    where.push(`(txid, seq) > ($${params.length - 1}::xid8, $${params.length}::bigint)`);
  }
  const { rows } = await platform.db.query<{ id: string; type: string; created_at: Timestamp; data: unknown }>(
    `select id, type, created_at, data from outbox_events where ${where.join(' and ')} order by txid, seq limit $1`,
    params,
  );
  const hasMore = rows.length > query.limit;
  // Payloads are as their writer (typed by the event catalogue) stored them.
  const page = rows
    .slice(0, query.limit)
    .map((r) => ({ id: r.id, type: r.type, created_at: isoTime(r.created_at), data: r.data }) as EventPage['data'][number]);
  return { data: page, next_cursor: page.at(-1)?.id ?? query.after ?? null, has_more: hasMore };
}
