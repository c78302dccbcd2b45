import type { Platform } from '../platform.ts';
import { type JobRequest, jobIdOf } from '../queues/catalog.ts';
import { enqueueBulk } from '../queues/enqueue.ts';
import { batchJobs, webhookDeliveryId } from '../webhooks/deliveries.ts';
import { matchesEvent } from '../webhooks/endpoints.ts';

export interface RelayResult {
  events: number;
  deliveries: number;
}

interface PendingEvent {
  id: string;
  type: string;
  ctid: string;
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
      'select id, type, ctid::text from outbox_events where dispatched_at is null order by seq limit $1 for update skip locked',
      [batchSize],
    );
    if (events.length === 0) return { events: 0, deliveries: 0 };
    const { rows: endpoints } = await tx.query<{ id: string; events: string[] }>('select id, events from webhook_endpoints where enabled');
    const eventIds: string[] = [];
    const eventTypes: string[] = [];
    const endpointIds: string[] = [];
    for (const event of events) {
      for (const endpoint of endpoints) {
        if (!matchesEvent(endpoint.events, event.type)) continue;
        eventIds.push(event.id);
        eventTypes.push(event.type);
        endpointIds.push(endpoint.id);
      }
    }
    const now = platform.clock.now();
    if (eventIds.length > 0) {
      // The delivery id (and so the webhook-id) is derived from event × endpoint: a relay that runs twice for the
      // same row (its commit lost) creates the same ids and the same batch jobs, and BullMQ ignores a jobId it has.
      const jobs = relayJobs(platform, events[0]?.id as string, eventIds, endpointIds);
      await tx.query(
        `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, next_attempt_at, batch_job_id)
         select md5(e.event_id::text || ':' || e.endpoint_id::text)::uuid, e.endpoint_id, e.event_id, e.event_type, $3, e.batch_job_id
           from unnest($1::uuid[], $2::uuid[], $4::text[], $5::text[]) as e(event_id, endpoint_id, batch_job_id, event_type)
         on conflict (endpoint_id, event_id) do update
            set batch_job_id = excluded.batch_job_id where webhook_deliveries.attempts = 0 and webhook_deliveries.round = 1`,
        [eventIds, endpointIds, now, jobs.batchJobIds, eventTypes],
      );
      // A delivery a lost commit already attempted is not claimed again by its batch: its own retry job carries it.
      await enqueueBulk(platform.queues, jobs.requests);
    }
    // By row address (stable: the rows are locked by this transaction): a TID scan whatever the statistics say (by id
    // the planner chose a sequential scan of the whole table while it grew faster than autovacuum analyzed it).
    await tx.query('update outbox_events set dispatched_at = $2 where ctid = any($1::tid[])', [events.map((e) => e.ctid), now]);
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

/**
 * The batch jobs of one relay batch: per endpoint, its deliveries in jobs of WEBHOOK_BATCH_SIZE; and, per delivery
 * (in the order given), the id of the job that carries it, which the delivery row keeps for the reconciler.
 */
function relayJobs(platform: Platform, relayedEventId: string, eventIds: readonly string[], endpointIds: readonly string[]) {
  const byEndpoint = new Map<string, string[]>();
  const deliveryIds = eventIds.map((eventId, i) => {
    const endpointId = endpointIds[i] as string;
    const id = webhookDeliveryId(eventId, endpointId);
    const list = byEndpoint.get(endpointId);
    if (list) list.push(id);
    else byEndpoint.set(endpointId, [id]);
    return id;
  });
  const requests: JobRequest<'webhook.deliver-batch'>[] = [];
  const jobOf = new Map<string, string>();
  for (const [endpointId, ids] of byEndpoint) {
    const firsts = ids.map((deliveryId) => ({ deliveryId, round: 1, attempt: 1 }));
    for (const request of batchJobs(endpointId, firsts, platform.config.WEBHOOK_BATCH_SIZE, { relayedEventId })) {
      requests.push(request);
      const jobId = jobIdOf(request.name, request.payload) as string;
      for (const d of request.payload.deliveries) jobOf.set(d.deliveryId, jobId);
    }
  }
  return {
    requests,
    batchJobIds: deliveryIds.map((id) => jobOf.get(id) as string),
  };
}
