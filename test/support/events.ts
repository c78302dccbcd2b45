import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/sql.ts';
import type { EventPayload } from '../../src/events/catalog.ts';
import { emitEvent } from '../../src/events/outbox.ts';

/** The payload of a business event passed on (the catalogue's shape for any type outside the platform's namespaces). */
export function businessEventPayload(data: Record<string, unknown> = {}): EventPayload<'test.event'> {
  return { event_id: randomUUID(), source_id: null, customer: { id: 'test-customer' }, data, occurred_at: new Date().toISOString() };
}

/** Writes one business event of `type` (outside the platform's namespaces) to the outbox, in its own transaction. */
export function emitTestEvent(db: Database, type: string, data: Record<string, unknown> = {}): Promise<string> {
  return db.transaction((tx) => emitEvent(tx, type, businessEventPayload(data)));
}
