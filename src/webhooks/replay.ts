import type { Platform } from '../platform.ts';
import { type JobPayload, jobIdOf } from '../queues/catalog.ts';
import { enqueue, enqueueBulk } from '../queues/enqueue.ts';
import { DomainError } from '../shared/errors.ts';
import { deliverJob } from './deliveries.ts';
import { getEndpoint } from './endpoints.ts';

type WebhookReplayPayload = JobPayload<'webhook.replay'>;

/** Accepts a replay; the work (possibly millions of events) runs as a job. */
export async function requestReplay(platform: Platform, endpointId: string, since: Date): Promise<{ id: string; since: string }> {
  const endpoint = await getEndpoint(platform, endpointId);
  if (!endpoint.enabled) throw new DomainError('conflict', 'webhook_endpoint_disabled', 'The endpoint is disabled; enable it first.');
  if (since > platform.clock.now())
    throw new DomainError('invalid', 'validation_failed', '`since` is in the future.', {
      errors: [{ field: 'since', message: 'must not be in the future' }],
    });
  const data: WebhookReplayPayload = { endpointId, since: since.toISOString(), requestedAt: platform.clock.now().toISOString() };
  await enqueue(platform.queues, 'webhook.replay', data);
  return { id: jobIdOf('webhook.replay', data) as string, since: since.toISOString() };
}

/**
 * Sends again every event since a time that the endpoint subscribes to, each with its original webhook-id (a new
 * round of the same delivery). Events up to the request time only, in batches; deliveries already pending are
 * left as they are. Re-running it after a crash re-sends from the start, which at-least-once allows.
 */
export async function replayEvents(platform: Platform, payload: WebhookReplayPayload, batchSize = 500): Promise<{ replayed: number }> {
  let afterSeq = '0';
  let replayed = 0;
  for (;;) {
    const { rows: events } = await platform.db.query<{ id: string; seq: string }>(
      `select o.id, o.seq from outbox_events o join webhook_endpoints e on e.id = $1 and e.enabled
        where o.created_at >= $2 and o.created_at <= $3 and o.seq > $4 and o.dispatched_at is not null
          and ('*' = any(e.events) or o.type = any(e.events)
               or exists (select 1 from unnest(e.events) f where f like '%.*' and o.type like left(f, -1) || '%'))
        order by o.seq limit $5`,
      [payload.endpointId, payload.since, payload.requestedAt, afterSeq, batchSize],
    );
    if (events.length === 0) break;
    afterSeq = (events.at(-1) as { seq: string }).seq;
    const now = platform.clock.now();
    const { rows: deliveries } = await platform.db.query<{ id: string; round: number }>(
      `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, next_attempt_at)
       select md5(o.id::text || ':' || $1::text)::uuid, $1::uuid, o.id, o.type, $3 from outbox_events o where o.id = any($2::uuid[])
       on conflict (endpoint_id, event_id) do update
         set status = 'pending', round = webhook_deliveries.round + 1, attempts = 0, next_attempt_at = excluded.next_attempt_at,
             updated_at = excluded.next_attempt_at, batch_job_id = null
         where webhook_deliveries.status <> 'pending'
       returning id, round`,
      [payload.endpointId, events.map((e) => e.id), now],
    );
    await enqueueBulk(
      platform.queues,
      deliveries.map((d) => deliverJob(d.id, d.round, 1, 0, payload.endpointId)),
    );
    replayed += deliveries.length;
    if (events.length < batchSize) break;
  }
  return { replayed };
}
