import type { Queryable } from '../db/sql.ts';
import { type EventPayload, isPlatformEventType, isReservedEventType, type PlatformEventType } from './catalog.ts';

/**
 * The one writer of `outbox_events`. Call it inside the transaction that makes the change: the relay delivers the
 * event after commit, and never if the change rolled back. Typed by the event catalogue: an unknown type in a
 * platform namespace, or a payload of the wrong shape, does not compile.
 *
 * No pg_notify here: a notifying commit takes a cluster-wide lock, which cut concurrent commits 4× in a test.
 * The relay polls (OUTBOX_RELAY_INTERVAL_MS) instead.
 */

function checkType(type: string): void {
  // A type computed at run time (a business event's) is held to the catalogue here.
  if (!isPlatformEventType(type) && isReservedEventType(type)) throw new Error(`not an event type of the catalogue: ${type}`);
}

export async function emitEvent<T extends string>(tx: Queryable, type: T, data: EventPayload<T>): Promise<string> {
  checkType(type);
  const { rows } = await tx.query<{ id: string }>('insert into outbox_events (type, data) values ($1, $2) returning id', [type, data]);
  return (rows[0] as { id: string }).id;
}

/** Many events of one type in one statement. */
export async function emitEvents<T extends string>(tx: Queryable, type: T, data: readonly EventPayload<T>[]): Promise<void> {
  checkType(type);
  if (data.length === 0) return;
  await tx.query('insert into outbox_events (type, data) select $1, d from unnest($2::jsonb[]) as d', [
    type,
    data.map((d) => JSON.stringify(d)),
  ]);
}

/**
 * The body of a data-modifying CTE that emits one event of `type` per row of `from` with `data` as its payload, for a
 * writer whose payload is known before its statement runs: the SQL reads them as parameters `$first` and `$first + 1`,
 * which the caller appends from `params`.
 */
export function outboxEventPerRow<T extends string>(
  type: T,
  data: EventPayload<T>,
  from: string,
  first: number,
): { sql: string; params: [T, EventPayload<T>] } {
  checkType(type);
  return { sql: `insert into outbox_events (type, data) select $${first}::text, $${first + 1}::jsonb from ${from}`, params: [type, data] };
}

/**
 * The body of a data-modifying CTE that emits one event of `type` per row of `from`, each row's payload in its
 * `column` (jsonb), for a writer of many rows whose payloads are known before its statement runs.
 */
export function outboxEventsFromColumn<T extends PlatformEventType>(type: T, column: string, from: string): string {
  checkType(type);
  return `insert into outbox_events (type, data) select '${type}', ${column} from ${from}`;
}

/**
 * An `insert into outbox_events` statement, for a writer that must emit inside a bigger statement (a CTE that
 * updates rows and emits one event per row, atomically): one event of `type` per row of `from`, its payload built
 * from one SQL expression per payload field (every field, and no other).
 */
export function outboxInsertSql<T extends PlatformEventType>(
  type: T,
  fields: { [K in keyof EventPayload<T>]-?: string },
  from: string,
): string {
  const pairs = Object.entries(fields as Record<string, string>).map(([key, expression]) => `'${key}', ${expression}`);
  return `insert into outbox_events (type, data) select '${type}', jsonb_build_object(${pairs.join(', ')}) from ${from}`;
}
