import { deliveryMessage } from '../compat/voucherify/webhook-format.ts';
import { emitEvent } from '../events/outbox.ts';
import type { Platform } from '../platform.ts';
import { type JobPayload, type JobRequest, jobIdOf } from '../queues/catalog.ts';
import { keyPrefix } from '../queues/connection.ts';
import { enqueue } from '../queues/enqueue.ts';
import { DomainError, NotFoundError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { uniformRandom } from '../shared/jitter.ts';
import { webhookDeliveries } from '../shared/metrics.ts';
import { pageOf } from '../shared/paging.ts';
import { resourceKind } from '../shared/process-resources.ts';
import { isUuid } from '../shared/uuid.ts';
import { postWebhook } from './http-client.ts';
import { EndpointPacer } from './rate-limit.ts';
import type { WebhookDeliveryView } from './schemas.ts';
import { cachedDecryptSecret, secretDecryptionKeys } from './secrets.ts';
import { ms, type Timestamp } from './time.ts';

type WebhookDeliverPayload = JobPayload<'webhook.deliver'>;

/** One job per attempt of a delivery, due in `delayMs` (its id is deterministic: see the catalogue). */
export function deliverJob(
  deliveryId: string,
  round: number,
  attempt: number,
  delayMs = 0,
  eventId?: string,
): JobRequest<'webhook.deliver'> {
  const payload: WebhookDeliverPayload = eventId ? { deliveryId, round, attempt, eventId } : { deliveryId, round, attempt };
  return { name: 'webhook.deliver', payload, overrides: { delay: Math.max(0, Math.round(delayMs)) } };
}

async function enqueueAttempt(platform: Platform, request: JobRequest<'webhook.deliver'>): Promise<void> {
  await enqueue(platform.queues, request.name, request.payload, request.overrides);
}

/** Backoff with ±20% jitter so retries of many deliveries do not arrive together; Retry-After wins when longer. */
export function retryDelay(delays: readonly number[], attempt: number, retryAfterMs?: number, random = uniformRandom): number | undefined {
  const base = delays[attempt - 1];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (0.8 + 0.4 * random()));
  // Retry-After is capped at a day so a hostile receiver cannot park a delivery forever.
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, 24 * 3600 * 1000));
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  status: string;
  round: number;
  attempts: number;
  next_attempt_at: Timestamp;
  url: string;
  enabled: boolean;
  format: 'standard' | 'voucherify';
  secret_encrypted: string;
  previous_secret_encrypted: string | null;
  previous_secret_expires_at: Timestamp | null;
  failing_since: Timestamp | null;
  event_id: string;
  event_type: string;
  event_data: unknown;
  event_created_at: Timestamp;
}

const LOAD = `
  select d.id, d.endpoint_id, d.status, d.round, d.attempts, d.next_attempt_at,
         e.url, e.enabled, e.format, e.secret_encrypted, e.previous_secret_encrypted, e.previous_secret_expires_at, e.failing_since,
         o.id as event_id, o.type as event_type, o.data as event_data, o.created_at as event_created_at
    from webhook_deliveries d
    join webhook_endpoints e on e.id = d.endpoint_id
    join outbox_events o on o.id = d.event_id
   where d.id = $1`;

export type DeliveryOutcome =
  | { status: 'missing' | 'not_yet_relayed' | 'stale' | 'cancelled' | 'already_attempted' }
  | { status: 'deferred'; waitMs: number; slotAt: number }
  | { status: 'succeeded' | 'retry_scheduled' | 'dead_lettered' | 'endpoint_gone'; statusCode?: number; nextAttemptInMs?: number };

export interface DeliverOptions {
  /** A send slot reserved on an earlier run of this job (epoch ms), so it is not reserved twice. */
  slotAt?: number;
}

/** One pacer per platform: it defines its scripts on the platform's Redis connection once. */
const endpointPacer = resourceKind(
  'webhook endpoint pacer',
  (platform: Platform) =>
    new EndpointPacer(platform.redis, keyPrefix(platform.config), {
      ratePerSecond: platform.config.WEBHOOK_ENDPOINT_RATE_PER_S,
      maxInFlight: platform.config.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT,
      slotTtlMs: platform.config.WEBHOOK_TIMEOUT_MS + 5_000,
    }),
);

/**
 * Makes one attempt of one delivery, if it is still due. Safe to run twice for the same job (a worker SIGKILLed
 * after sending but before recording sends again: at least once), and a job that finds the database already past
 * its attempt only makes sure the next attempt is queued.
 */
export async function deliverWebhook(
  platform: Platform,
  job: WebhookDeliverPayload,
  options: DeliverOptions = {},
): Promise<DeliveryOutcome> {
  const { db, config, clock } = platform;
  let row = (await db.read<DeliveryRow>({ name: 'webhook-delivery-load', text: LOAD }, [job.deliveryId])).rows[0];
  if (!row && job.eventId) {
    // The relay enqueues inside its transaction: wait for it to end (it holds the event row FOR UPDATE), then look again.
    const relayed = await db.transaction(async (tx) => {
      await tx.query(`set local lock_timeout = '10s'`);
      const { rows } = await tx.query<{ dispatched: boolean }>(
        'select dispatched_at is not null as dispatched from outbox_events where id = $1 for key share',
        [job.eventId],
      );
      return rows[0]?.dispatched ?? true;
    });
    row = (await db.read<DeliveryRow>({ name: 'webhook-delivery-load', text: LOAD }, [job.deliveryId])).rows[0];
    // Not relayed: that relay rolled back and the next one creates this same delivery.
    if (!row && !relayed) return { status: 'not_yet_relayed' };
  }
  // Gone for good: its endpoint was deleted.
  if (!row) return { status: 'missing' };
  if (row.status !== 'pending' || row.round !== job.round) return { status: 'stale' };
  if (row.attempts >= job.attempt) {
    const next = row.attempts + 1;
    const delay = ms(row.next_attempt_at) - clock.now().getTime();
    await enqueueAttempt(platform, deliverJob(row.id, row.round, next, delay));
    return { status: 'already_attempted' };
  }
  if (!row.enabled) {
    await db.query(
      `update webhook_deliveries set status = 'cancelled', last_error = 'endpoint disabled', updated_at = $2
        where id = $1 and status = 'pending'`,
      [row.id, clock.now()],
    );
    webhookDeliveries.inc({ outcome: 'cancelled' });
    return { status: 'cancelled' };
  }

  const pacer = platform.resources.get(endpointPacer);
  const holder = jobIdOf('webhook.deliver', { deliveryId: row.id, round: row.round, attempt: job.attempt }) as string;
  const reserved = options.slotAt !== undefined && Date.now() >= options.slotAt - 50;
  const pace = await pacer.take(row.endpoint_id, holder, !reserved);
  if (pace.waitMs > 0) return { status: 'deferred', waitMs: pace.waitMs, slotAt: Date.now() + pace.waitMs };
  if (!pace.acquired) {
    // Every in-flight slot of this endpoint is busy: come back shortly without taking a worker slot meanwhile.
    const waitMs = 50 + Math.floor(uniformRandom() * 200);
    return { status: 'deferred', waitMs, slotAt: Date.now() + waitMs };
  }

  const keys = secretDecryptionKeys(config);
  const attemptedAt = clock.now();
  const secrets = [cachedDecryptSecret(keys, row.secret_encrypted)];
  if (row.previous_secret_encrypted && row.previous_secret_expires_at && ms(row.previous_secret_expires_at) > attemptedAt.getTime()) {
    secrets.push(cachedDecryptSecret(keys, row.previous_secret_encrypted));
  }
  // The one place a delivery's body and headers are built, in the endpoint's format. The signature timestamp is
  // wall-clock time: receivers compare it with theirs.
  const event = { id: row.event_id, type: row.event_type, created_at: row.event_created_at, data: row.event_data };
  const { body, headers } = deliveryMessage(row.format, row.id, event, secrets, new Date());
  // postWebhook never throws: every failure is a result to record.
  const result = await postWebhook(row.url, headers, body, {
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
  });
  await pacer.release(row.endpoint_id, holder, result.latencyMs).catch(() => undefined);

  const code = result.statusCode;
  const ok = code !== undefined && code >= 200 && code < 300;
  const gone = code === 410;
  const delay = ok || gone ? undefined : retryDelay(config.WEBHOOK_RETRY_DELAYS_MS, job.attempt, result.retryAfterMs);
  const now = clock.now();
  const error = ok ? null : (result.error ?? (code !== undefined ? `HTTP ${code}` : 'no response'));
  const outcome: 'succeeded' | 'retry_scheduled' | 'dead_lettered' | 'endpoint_gone' = ok
    ? 'succeeded'
    : gone
      ? 'endpoint_gone'
      : delay === undefined
        ? 'dead_lettered'
        : 'retry_scheduled';

  // The attempt and the delivery's new state in one statement (atomic without a transaction round trip).
  // A named statement: parsed and planned once per connection.
  const recorded = await db.query({
    name: 'webhook-delivery-record',
    text: `with d as (
       update webhook_deliveries
          set status = $5, attempts = attempts + 1, total_attempts = total_attempts + 1, next_attempt_at = $6,
              last_status_code = $7, last_error = $8, delivered_at = case when $5 = 'succeeded' then $4 else delivered_at end,
              updated_at = $4
        where id = $1 and round = $2 and attempts = $3 and status = 'pending'
        returning id)
     insert into webhook_attempts (delivery_id, round, attempt, attempted_at, status_code, latency_ms, error, response_body)
     select d.id, $2, $3 + 1, $9, $7, $10, $11, $12 from d`,
    values: [
      row.id,
      row.round,
      job.attempt - 1,
      now,
      outcome === 'retry_scheduled' ? 'pending' : ok ? 'succeeded' : 'failed',
      new Date(now.getTime() + (delay ?? 0)),
      code ?? null,
      gone
        ? 'endpoint returned 410 Gone: disabled'
        : outcome === 'dead_lettered'
          ? `dead-lettered after ${job.attempt} attempts: ${error}`
          : error,
      attemptedAt,
      result.latencyMs,
      ok ? null : error,
      result.responseBody ?? null,
    ],
  });
  if (recorded.rowCount === 0) return { status: 'stale' };
  // Endpoint health: written only when it changes, so a healthy endpoint's row is never contended.
  if (ok && row.failing_since !== null) {
    await db.query('update webhook_endpoints set failing_since = null where id = $1 and failing_since is not null', [row.endpoint_id]);
  } else if (gone) {
    await db.transaction((tx) => disableEndpoint(tx, row.endpoint_id, 'gone', now));
  } else if (!ok && row.failing_since === null) {
    await db.query('update webhook_endpoints set failing_since = $2 where id = $1 and failing_since is null', [
      row.endpoint_id,
      attemptedAt,
    ]);
  } else if (!ok && row.failing_since !== null && now.getTime() - ms(row.failing_since) >= config.WEBHOOK_DISABLE_AFTER_MS) {
    await db.transaction((tx) => disableEndpoint(tx, row.endpoint_id, 'failing', now));
  }
  webhookDeliveries.inc({ outcome });
  if (outcome === 'retry_scheduled' && delay !== undefined) {
    await enqueueAttempt(platform, deliverJob(row.id, row.round, job.attempt + 1, delay));
  }
  return { status: outcome, statusCode: code, nextAttemptInMs: delay };
}

/**
 * Disables an endpoint once (a conditional update) and says so with a `webhook.endpoint.disabled` event in the
 * same transaction.
 */
export async function disableEndpoint(
  tx: Parameters<typeof emitEvent>[0],
  endpointId: string,
  reason: 'gone' | 'failing',
  now: Date,
): Promise<boolean> {
  const { rows } = await tx.query<{ id: string; url: string; failing_since: Timestamp | null }>(
    `update webhook_endpoints set enabled = false, disabled_reason = $2, disabled_at = $3, updated_at = $3
      where id = $1 and enabled returning id, url, failing_since`,
    [endpointId, reason, now],
  );
  const endpoint = rows[0];
  if (!endpoint) return false;
  await emitEvent(tx, 'webhook.endpoint.disabled', {
    endpoint_id: endpoint.id,
    url: endpoint.url,
    reason,
    failing_since: isoTime(endpoint.failing_since),
    disabled_at: now.toISOString(),
  });
  return true;
}

interface AttemptLogEntry {
  attempt: number;
  round: number;
  attempted_at: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_body: string | null;
}

interface DeliveryListRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: string;
  total_attempts: number;
  next_attempt_at: Timestamp;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Timestamp | null;
  created_at: Timestamp;
  attempt_log: AttemptLogEntry[];
}

const DELIVERY_VIEW_SQL = `
  select d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.total_attempts, d.next_attempt_at, d.last_status_code,
         d.last_error, d.delivered_at, d.created_at,
         coalesce((select json_agg(json_build_object('attempt', a.attempt, 'round', a.round, 'attempted_at', a.attempted_at,
                    'status_code', a.status_code, 'latency_ms', a.latency_ms, 'error', a.error, 'response_body', a.response_body)
                    order by a.id)
                   from webhook_attempts a where a.delivery_id = d.id), '[]'::json) as attempt_log
    from webhook_deliveries d`;

function deliveryView(row: DeliveryListRow): WebhookDeliveryView {
  return {
    id: row.id,
    endpoint_id: row.endpoint_id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status as WebhookDeliveryView['status'],
    attempts: row.total_attempts,
    next_attempt_at: row.status === 'pending' ? isoTime(row.next_attempt_at) : null,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    delivered_at: isoTime(row.delivered_at),
    created_at: isoTime(row.created_at),
    attempt_log: row.attempt_log.map((a) => ({ ...a, attempted_at: new Date(a.attempted_at).toISOString() })),
  };
}

export async function getDelivery(platform: Platform, id: string): Promise<WebhookDeliveryView> {
  if (!isUuid(id)) throw new NotFoundError('webhook_delivery', id);
  const { rows } = await platform.db.query<DeliveryListRow>(`${DELIVERY_VIEW_SQL} where d.id = $1`, [id]);
  if (!rows[0]) throw new NotFoundError('webhook_delivery', id);
  return deliveryView(rows[0]);
}

export interface DeliveryPageQuery {
  limit: number;
  /** The id of the last delivery of the previous page. */
  cursor?: readonly [string];
  status?: string;
  eventType?: string;
}

/** Newest first; the cursor is the last delivery's id. */
export async function listDeliveries(
  platform: Platform,
  endpointId: string,
  query: DeliveryPageQuery,
): Promise<{ data: WebhookDeliveryView[]; next_cursor: string | null }> {
  const params: unknown[] = [endpointId, query.limit + 1];
  const where = ['d.endpoint_id = $1'];
  if (query.cursor) {
    params.push(query.cursor[0]);
    where.push(`(d.created_at, d.id) < (select created_at, id from webhook_deliveries where id = $${params.length})`);
  }
  if (query.status) {
    params.push(query.status);
    where.push(`d.status = $${params.length}`);
  }
  if (query.eventType) {
    params.push(query.eventType);
    where.push(`d.event_type = $${params.length}`);
  }
  const { rows } = await platform.db.query<DeliveryListRow>(
    `${DELIVERY_VIEW_SQL} where ${where.join(' and ')} order by d.created_at desc, d.id desc limit $2`,
    params,
  );
  const page = pageOf(rows, query.limit, (d) => [d.id]);
  return { data: page.data.map(deliveryView), next_cursor: page.next_cursor };
}

/** Sends a finished delivery again: a new round of attempts with the same webhook-id. */
export async function retryDelivery(platform: Platform, id: string): Promise<WebhookDeliveryView> {
  if (!isUuid(id)) throw new NotFoundError('webhook_delivery', id);
  const { rows } = await platform.db.query<{ status: string; enabled: boolean }>(
    'select d.status, e.enabled from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where d.id = $1',
    [id],
  );
  const current = rows[0];
  if (!current) throw new NotFoundError('webhook_delivery', id);
  if (!current.enabled) throw new DomainError('conflict', 'webhook_endpoint_disabled', 'The endpoint is disabled; enable it first.');
  const now = platform.clock.now();
  const { rows: updated } = await platform.db.query<{ round: number }>(
    `update webhook_deliveries set status = 'pending', round = round + 1, attempts = 0, next_attempt_at = $2, updated_at = $2
      where id = $1 and status <> 'pending' returning round`,
    [id, now],
  );
  const round = updated[0]?.round;
  if (round === undefined) throw new DomainError('conflict', 'webhook_delivery_pending', 'The delivery is already being attempted.');
  await enqueueAttempt(platform, deliverJob(id, round, 1));
  return getDelivery(platform, id);
}
