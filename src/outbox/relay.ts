import type { Platform } from '../platform.ts';
import { enqueueBulk } from '../queues/enqueue.ts';
import { deliverJob } from '../webhooks/deliveries.ts';
import { matchesEvent } from '../webhooks/endpoints.ts';

export interface RelayResult {
  events: number;
  deliveries: number;
}

interface PendingEvent {
  id: string;
  type: string;
}

/**
 * Moves pending outbox rows to BullMQ: one delivery row per event × matching enabled endpoint and one job each.
 * Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of relays run at once without sending twice, and
 * marked dispatched in the same transaction only after the enqueue succeeded: when Redis is away the transaction
 * rolls back and the rows wait for the next run.
 */
export async function relayBatch(platform: Platform, batchSize = platform.config.OUTBOX_RELAY_BATCH_SIZE): Promise<RelayResult> {
  return platform.db.transaction(async (tx) => {
    const { rows: events } = await tx.query<PendingEvent>(
      'select id, type from outbox_events where dispatched_at is null order by seq limit $1 for update skip locked',
      [batchSize],
    );
    if (events.length === 0) return { events: 0, deliveries: 0 };
    const { rows: endpoints } = await tx.query<{ id: string; events: string[] }>('select id, events from webhook_endpoints where enabled');
    const eventIds: string[] = [];
    const endpointIds: string[] = [];
    for (const event of events) {
      for (const endpoint of endpoints) {
        if (!matchesEvent(endpoint.events, event.type)) continue;
        eventIds.push(event.id);
        endpointIds.push(endpoint.id);
      }
    }
    const now = platform.clock.now();
    if (eventIds.length > 0) {
      // The delivery id (and so the webhook-id) is derived from event × endpoint: a relay that runs twice for the
      // same row (its commit lost) creates the same ids, and BullMQ ignores a jobId it already has.
      const { rows: deliveries } = await tx.query<{ id: string; round: number; attempts: number; event_id: string }>(
        `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, next_attempt_at)
         select md5(e.event_id::text || ':' || e.endpoint_id::text)::uuid, e.endpoint_id, e.event_id, o.type, $3
           from unnest($1::uuid[], $2::uuid[]) as e(event_id, endpoint_id)
           join outbox_events o on o.id = e.event_id
         on conflict (endpoint_id, event_id) do update set updated_at = webhook_deliveries.updated_at
         returning id, round, attempts, event_id`,
        [eventIds, endpointIds, now],
      );
      await enqueueBulk(
        platform.queues,
        deliveries.filter((d) => d.attempts === 0).map((d) => deliverJob(d.id, d.round, 1, 0, d.event_id)),
      );
    }
    await tx.query('update outbox_events set dispatched_at = $2 where id = any($1::uuid[])', [events.map((e) => e.id), now]);
    return { events: events.length, deliveries: eventIds.length };
  });
}

/** Relays until the outbox is empty or the time budget is spent (the next scheduled run continues). */
export async function relayOutbox(platform: Platform, budgetMs = 20_000): Promise<RelayResult> {
  const started = Date.now();
  const total: RelayResult = { events: 0, deliveries: 0 };
  for (;;) {
    const batch = await relayBatch(platform);
    total.events += batch.events;
    total.deliveries += batch.deliveries;
    if (batch.events < platform.config.OUTBOX_RELAY_BATCH_SIZE || Date.now() - started > budgetMs) break;
  }
  return total;
}
