import type { Platform } from '../platform.ts';
import { deliverJob, deliverJobId } from '../webhooks/deliveries.ts';
import { matchesEvent } from '../webhooks/endpoints.ts';

export interface RelayResult {
  events: number;
  deliveries: number;
  requeued: number;
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
export async function relayBatch(
  platform: Platform,
  batchSize = platform.config.OUTBOX_RELAY_BATCH_SIZE,
): Promise<{ events: number; deliveries: number }> {
  const queue = platform.queues.get('webhook');
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
      const jobs = deliveries.filter((d) => d.attempts === 0).map((d) => deliverJob(d.id, d.round, 1, 0, d.event_id));
      for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
    }
    await tx.query('update outbox_events set dispatched_at = $2 where id = any($1::uuid[])', [events.map((e) => e.id), now]);
    return { events: events.length, deliveries: eventIds.length };
  });
}

/** Relays until the outbox is empty or the time budget is spent (the next scheduled run continues). */
export async function relayOutbox(platform: Platform, budgetMs = 20_000): Promise<RelayResult> {
  const started = Date.now();
  const total: RelayResult = { events: 0, deliveries: 0, requeued: 0 };
  for (;;) {
    const batch = await relayBatch(platform);
    total.events += batch.events;
    total.deliveries += batch.deliveries;
    if (batch.events < platform.config.OUTBOX_RELAY_BATCH_SIZE || Date.now() - started > budgetMs) break;
  }
  total.requeued = await requeueOverdueDeliveries(platform);
  return total;
}

/**
 * The database is the record of what is owed; BullMQ only schedules it. A pending delivery whose attempt is
 * overdue by WEBHOOK_REQUEUE_AFTER_MS has lost its job (Redis restarted empty, a job exhausted its infrastructure
 * retries): its job is added again, retried, or replaced. Jobs that are waiting, delayed or running are left alone.
 */
export async function requeueOverdueDeliveries(platform: Platform, limit = 200): Promise<number> {
  // One sweeper at a time across all processes; the others skip this round.
  const lock = `${platform.config.QUEUE_PREFIX}:webhook-sweep-lock`;
  if ((await platform.redis.set(lock, '1', 'PX', 10_000, 'NX')) !== 'OK') return 0;
  try {
    const cutoff = new Date(platform.clock.now().getTime() - platform.config.WEBHOOK_REQUEUE_AFTER_MS);
    const { rows } = await platform.db.query<{ id: string; round: number; attempts: number }>(
      `select id, round, attempts from webhook_deliveries
        where status = 'pending' and next_attempt_at < $1 order by next_attempt_at limit $2`,
      [cutoff, limit],
    );
    const queue = platform.queues.get('webhook');
    const suspects: { id: string; round: number; attempts: number; state: string }[] = [];
    for (const row of rows) {
      const job = await queue.getJob(deliverJobId(row.id, row.round, row.attempts + 1));
      const state = job ? await job.getState() : 'missing';
      if (state === 'completed' || state === 'failed' || state === 'missing' || state === 'unknown') suspects.push({ ...row, state });
    }
    if (suspects.length === 0) return 0;
    // A job completes only after its attempt is recorded, so a row still unchanged after its job was seen
    // finished (or gone) really has no job; one that changed in between was just being worked on.
    const { rows: still } = await platform.db.query<{ id: string; round: number; attempts: number }>(
      `select id, round, attempts from webhook_deliveries where id = any($1::uuid[]) and status = 'pending'`,
      [suspects.map((s) => s.id)],
    );
    const unchanged = new Set(still.map((r) => `${r.id}/${r.round}/${r.attempts}`));
    const states: Record<string, number> = {};
    let requeued = 0;
    for (const suspect of suspects) {
      if (!unchanged.has(`${suspect.id}/${suspect.round}/${suspect.attempts}`)) continue;
      const jobId = deliverJobId(suspect.id, suspect.round, suspect.attempts + 1);
      const existing = await queue.getJob(jobId);
      if (suspect.state === 'failed' && existing) {
        await existing.retry('failed');
      } else {
        if (existing) await existing.remove().catch(() => undefined);
        const job = deliverJob(suspect.id, suspect.round, suspect.attempts + 1);
        await queue.add(job.name, job.data, job.opts);
      }
      states[suspect.state] = (states[suspect.state] ?? 0) + 1;
      requeued += 1;
    }
    if (requeued > 0) platform.logger.warn({ requeued, states }, 'webhook deliveries re-queued after their jobs were lost');
    return requeued;
  } finally {
    await platform.redis.del(lock).catch(() => undefined);
  }
}
