import { createHash } from 'node:crypto';
import { deliveryMessage } from '../compat/voucherify/webhook-format.ts';
import { emitEvent } from '../events/outbox.ts';
import type { Platform } from '../platform.ts';
import { type JobPayload, type JobRequest, jobIdOf } from '../queues/catalog.ts';
import { keyPrefix } from '../queues/connection.ts';
import { enqueue, enqueueBulk } from '../queues/enqueue.ts';
import { DomainError, NotFoundError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { uniformRandom } from '../shared/jitter.ts';
import { HeldSlots, KeyedLanes } from '../shared/lanes.ts';
import { webhookDeliveries } from '../shared/metrics.ts';
import { pageOf } from '../shared/paging.ts';
import { resourceKind } from '../shared/process-resources.ts';
import { tickBatcher } from '../shared/tick-batch.ts';
import { isUuid } from '../shared/uuid.ts';
import { postWebhook } from './http-client.ts';
import { EndpointPacer } from './rate-limit.ts';
import type { WebhookDeliveryView } from './schemas.ts';
import { cachedDecryptSecret, secretDecryptionKeys } from './secrets.ts';
import { ms, type Timestamp } from './time.ts';

type WebhookDeliverPayload = JobPayload<'webhook.deliver'>;
type WebhookBatchPayload = JobPayload<'webhook.deliver-batch'>;

/** One attempt of one delivery, as a job carries it. */
export interface AttemptRef {
  deliveryId: string;
  round: number;
  attempt: number;
}

/** One job per retry of a delivery, due in `delayMs` (its id is deterministic: see the catalogue). */
export function deliverJob(
  deliveryId: string,
  round: number,
  attempt: number,
  delayMs = 0,
  endpointId?: string,
): JobRequest<'webhook.deliver'> {
  const payload: WebhookDeliverPayload = endpointId ? { deliveryId, round, attempt, endpointId } : { deliveryId, round, attempt };
  return { name: 'webhook.deliver', payload, overrides: { delay: Math.max(0, Math.round(delayMs)) } };
}

/**
 * Attempts of one endpoint's deliveries (one round and attempt number each: a relay batch's first attempts, or a
 * wave's failures due again) in jobs of up to `size`, sorted by id, so a relay that runs twice for the same rows
 * builds the same jobs and BullMQ keeps one of each. `relayedEventId` is an event the relay's transaction holds, to
 * wait on when a job starts before that transaction ended.
 */
export function batchJobs(
  endpointId: string,
  attempts: readonly AttemptRef[],
  size: number,
  options: { relayedEventId?: string; delayMs?: number } = {},
): JobRequest<'webhook.deliver-batch'>[] {
  const sorted = [...attempts].sort((a, b) => (a.deliveryId < b.deliveryId ? -1 : a.deliveryId > b.deliveryId ? 1 : 0));
  const jobs: JobRequest<'webhook.deliver-batch'>[] = [];
  for (let i = 0; i < sorted.length; i += size) {
    const deliveries = sorted.slice(i, i + size);
    const payload: WebhookBatchPayload = options.relayedEventId
      ? { endpointId, deliveries, relayedEventId: options.relayedEventId }
      : { endpointId, deliveries };
    jobs.push({ name: 'webhook.deliver-batch', payload, overrides: { delay: Math.max(0, Math.round(options.delayMs ?? 0)) } });
  }
  return jobs;
}

/** Backoff with ±20% jitter so retries of many deliveries do not arrive together; Retry-After wins when longer. */
export function retryDelay(delays: readonly number[], attempt: number, retryAfterMs?: number, random = uniformRandom): number | undefined {
  const base = delays[attempt - 1];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (0.8 + 0.4 * random()));
  // Retry-After is capped at a day so a hostile receiver cannot park a delivery forever.
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, 24 * 3600 * 1000));
}

interface ClaimedRow {
  id: string;
  endpoint_id: string;
  round: number;
  attempts: number;
  url: string;
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

/**
 * Claims the due attempts among the given ones, in one statement: a delivery still pending at that round and
 * attempt, of an enabled endpoint, not leased by another run, gets a lease until its attempt is recorded. A job that
 * runs again while the first run is still sending (its lock expired, or the reconciler re-created it after Redis
 * lost it) finds the lease and waits, instead of sending a second time. `d.id = any($1)` keeps the rows found by id:
 * without it, in a burst (many pending rows, statistics not caught up yet) the planner hash-joined every pending row.
 */
export const CLAIM = `
  update webhook_deliveries d set leased_until = $5
    from unnest($1::uuid[], $2::int[], $3::int[]) as j(id, round, attempt), webhook_endpoints e, outbox_events o
   where d.id = any($1::uuid[]) and d.id = j.id and d.round = j.round and d.attempts = j.attempt - 1 and d.status = 'pending'
     and (d.leased_until is null or d.leased_until <= $4)
     and e.id = d.endpoint_id and e.enabled and o.id = d.event_id
  returning d.id, d.endpoint_id, d.round, d.attempts, e.url, e.format, e.secret_encrypted, e.previous_secret_encrypted,
            e.previous_secret_expires_at, e.failing_since,
            o.id as event_id, o.type as event_type, o.data as event_data, o.created_at as event_created_at`;

/** Why an attempt was not claimed (the rare path: read once for all of a wave's unclaimed attempts). */
const UNCLAIMED = `
  select d.id, d.status, d.round, d.attempts, d.next_attempt_at, d.leased_until, e.enabled
    from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
   where d.id = any($1::uuid[])`;

interface UnclaimedRow {
  id: string;
  status: string;
  round: number;
  attempts: number;
  next_attempt_at: Timestamp;
  leased_until: Timestamp | null;
  enabled: boolean;
}

/**
 * Every attempt of a wave and its delivery's new state, in one statement; returns the deliveries it recorded. A retry
 * due again keeps the id of the batch job that carries it, for the reconciler. `w.id = any($1)`: as in CLAIM.
 */
export const RECORD = `
  with j as (
    select * from unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::timestamptz[], $6::int[], $7::text[],
                         $8::timestamptz[], $9::int[], $10::text[], $11::text[], $13::text[])
             as j(id, round, previous, status, next_attempt_at, status_code, last_error, attempted_at, latency_ms, error, response_body,
                  batch_job_id)),
  d as (
    update webhook_deliveries w
       set status = j.status, attempts = w.attempts + 1, total_attempts = w.total_attempts + 1,
           next_attempt_at = j.next_attempt_at, last_status_code = j.status_code, last_error = j.last_error,
           delivered_at = case when j.status = 'succeeded' then $12 else w.delivered_at end, updated_at = $12, leased_until = null,
           batch_job_id = j.batch_job_id
      from j
     where w.id = any($1::uuid[]) and w.id = j.id and w.round = j.round and w.attempts = j.previous and w.status = 'pending'
    returning w.id)
  insert into webhook_attempts (delivery_id, round, attempt, attempted_at, status_code, latency_ms, error, response_body)
  select j.id, j.round, j.previous + 1, j.attempted_at, j.status_code, j.latency_ms, j.error, j.response_body
    from d join j on j.id = d.id
  returning delivery_id`;

type AttemptOutcome = 'succeeded' | 'retry_scheduled' | 'dead_lettered' | 'endpoint_gone';

export type DeliveryOutcome =
  | { status: 'missing' | 'not_yet_relayed' | 'stale' | 'cancelled' | 'already_attempted' }
  | { status: 'deferred'; waitMs: number }
  | { status: AttemptOutcome; statusCode?: number; nextAttemptInMs?: number };

export interface BatchResult {
  /** Outcome per delivery id (the last one, for a delivery a run saw twice). */
  outcomes: Map<string, DeliveryOutcome>;
  /** Attempts to come back to in `waitMs` (paced, leased by another run, or not relayed yet). */
  later?: { attempts: AttemptRef[]; waitMs: number };
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

/** A lease outlives the longest a send may take (the request timeout) by this margin before its record. */
const LEASE_MARGIN_MS = 2_000;
/**
 * Waves of one endpoint in flight at once per process, and the most attempts in one wave (no more than the
 * endpoint's in-flight cap). A wave's parts free their slots as their answers come in, so a slow receiver's slots
 * keep turning over; claims and records are shared between the process's waves (see waveStatements).
 */
const LANE_WIDTH = 4;
const WAVE_SIZE = 32;
/**
 * Jobs of one endpoint that may wait in a process for a wave (woken in turn, no polling): half the worker's slots,
 * so one endpoint's backlog never holds all of them; more step back to the delayed set.
 */
const laneWaiters = (config: Platform['config']) => Math.max(1, Math.floor(config.WEBHOOK_DELIVERY_CONCURRENCY / 2));
/** How long a job waits in its lane for the endpoint's slots before it steps back to the delayed set. */
const LANE_WAIT_MS = 1_000;

const endpointLanes = resourceKind('webhook endpoint lanes', () => ({ lanes: new KeyedLanes(LANE_WIDTH), slots: new HeldSlots() }));

/** One attempt's record, as the RECORD statement takes it. */
interface AttemptRecord {
  id: string;
  round: number;
  previous: number;
  status: 'pending' | 'succeeded' | 'failed';
  nextAttemptAt: Date;
  statusCode: number | null;
  lastError: string | null;
  attemptedAt: Date;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
  batchJobId: string | null;
}

/**
 * The claims and records of a process's concurrent waves (every endpoint's), group-committed: while two statements
 * of a kind are out, the next waves' attempts wait and share the following one, so a busier database gets fewer,
 * larger statements instead of a queue for the pool. Each attempt still matches only its own row and attempt number.
 */
const waveStatements = resourceKind('webhook wave statements', (platform: Platform) => {
  const { db, config, clock } = platform;
  const groupCommit = { maxBatch: 1_000, maxInFlight: 2 };
  const claim = tickBatcher<AttemptRef, { row: ClaimedRow; leaseUntil: Date } | undefined>(async (refs) => {
    const claimedAt = clock.now();
    // Long enough for the longest wait for slots, then a send, then its record.
    const leaseUntil = new Date(claimedAt.getTime() + LANE_WAIT_MS + config.WEBHOOK_TIMEOUT_MS + LEASE_MARGIN_MS);
    const { rows } = await db.query<ClaimedRow>({ name: 'webhook-delivery-claim', text: CLAIM }, [
      refs.map((a) => a.deliveryId),
      refs.map((a) => a.round),
      refs.map((a) => a.attempt),
      claimedAt,
      leaseUntil,
    ]);
    const byKey = new Map(rows.map((row) => [`${row.id}_${row.round}_${row.attempts + 1}`, row]));
    return refs.map((a) => {
      const key = `${a.deliveryId}_${a.round}_${a.attempt}`;
      const row = byKey.get(key);
      // The same attempt asked for twice in one statement (two runs of one job): only the first caller has it.
      byKey.delete(key);
      return row ? { row, leaseUntil } : undefined;
    });
  }, groupCommit);
  const record = tickBatcher<AttemptRecord, boolean>(async (items) => {
    const ids = new Set<string>();
    const unique = items.filter((r) => !ids.has(r.id) && ids.add(r.id));
    const first = new Set(unique);
    const { rows } = await db.query<{ delivery_id: string }>({ name: 'webhook-delivery-record-batch', text: RECORD }, [
      unique.map((r) => r.id),
      unique.map((r) => r.round),
      unique.map((r) => r.previous),
      unique.map((r) => r.status),
      unique.map((r) => r.nextAttemptAt),
      unique.map((r) => r.statusCode),
      unique.map((r) => r.lastError),
      unique.map((r) => r.attemptedAt),
      unique.map((r) => r.latencyMs),
      unique.map((r) => r.error),
      unique.map((r) => r.responseBody),
      clock.now(),
      unique.map((r) => r.batchJobId),
    ]);
    const wrote = new Set(rows.map((w) => w.delivery_id));
    // A second record of one delivery in the same statement (impossible while claims are leased) is not written.
    return items.map((r) => first.has(r) && wrote.has(r.id));
  }, groupCommit);
  return { claim, record };
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A job stepping back comes again in a while, spread so that they do not all return together. */
const stepBackMs = () => 200 + Math.floor(uniformRandom() * 400);

/** When the job does not say which endpoint (jobs enqueued by an older version), the delivery does. */
async function endpointOf(platform: Platform, deliveryId: string): Promise<string | undefined> {
  const { rows } = await platform.db.read<{ endpoint_id: string }>('select endpoint_id from webhook_deliveries where id = $1', [
    deliveryId,
  ]);
  return rows[0]?.endpoint_id;
}

/** One attempt of one delivery (a retry, a manual retry, a replay, or one the reconciler re-created). */
export async function deliverWebhook(platform: Platform, job: WebhookDeliverPayload): Promise<DeliveryOutcome> {
  const endpointId = job.endpointId ?? (await endpointOf(platform, job.deliveryId));
  const ref = { deliveryId: job.deliveryId, round: job.round, attempt: job.attempt };
  if (!endpointId) return { status: 'missing' };
  const result = await deliverWebhooks(platform, endpointId, [ref], job.eventId);
  if (result.later) return { status: 'deferred', waitMs: result.later.waitMs };
  return result.outcomes.get(job.deliveryId) ?? { status: 'stale' };
}

/**
 * Retries due within this long stay in the batch job that made the failed attempt: they ride in its next waves
 * (one claim, one record and two pacer calls shared with other attempts) instead of a delayed job of their own each.
 * Longer delays go back to BullMQ. A job waits at most this long holding its worker slot for a retry alone.
 */
export const IN_JOB_RETRY_MAX_MS = 1_000;

/** Where a batch job is run from: its id, so retries kept in it can name it as their carrier for the reconciler. */
export interface BatchCarrier {
  jobId: string;
}

/**
 * Makes one attempt of each of one endpoint's deliveries, if still due, in waves: claims the wave (one statement,
 * shared with the process's other waves), takes send slots for the claimed ones from the endpoint's pacer (one
 * script per part) and sends each part at once, concurrently over the keep-alive pool (each part's slots freed, one script, once its
 * answers are in), records every attempt (one shared statement) and queues only the failed ones as delayed
 * retries; then the next wave, until every attempt is made or must wait. Run by a batch job (`carrier`), failures
 * due again within IN_JOB_RETRY_MAX_MS join its later waves instead. Safe to run twice: a claimed attempt is
 * leased, a recorded one is not claimed again; a run SIGKILLed after sending but before recording leaves the lease
 * to expire, and the job's re-run sends again with the same webhook-id (at least once); a re-run finding a retry
 * kept in the job already attempted queues that delivery's next attempt (see settleUnclaimed).
 */
export async function deliverWebhooks(
  platform: Platform,
  endpointId: string,
  attempts: readonly AttemptRef[],
  relayedEventId?: string,
  carrier?: BatchCarrier,
): Promise<BatchResult> {
  const pacer = platform.resources.get(endpointPacer);
  const { lanes, slots } = platform.resources.get(endpointLanes);
  const outcomes = new Map<string, DeliveryOutcome>();
  const waiting: { attempts: AttemptRef[]; at: number }[] = [];
  let todo = [...attempts];
  // Retries kept in this job, each due at `at` (epoch ms).
  let held: { attempt: AttemptRef; at: number }[] = [];
  const keep = carrier ? { jobId: carrier.jobId, held: (retry: { attempt: AttemptRef; at: number }) => held.push(retry) } : undefined;
  for (;;) {
    const now = Date.now();
    if (held.length > 0) {
      todo = todo.concat(held.filter((h) => h.at <= now).map((h) => h.attempt));
      held = held.filter((h) => h.at > now);
    }
    if (todo.length === 0) {
      if (held.length === 0) break;
      await sleep(Math.max(1, Math.min(...held.map((h) => h.at)) - now));
      continue;
    }
    if (lanes.waiting(endpointId) >= laneWaiters(platform.config)) {
      waiting.push({ attempts: todo, at: Date.now() + stepBackMs() });
      break;
    }
    const current = todo;
    // One wave: claimed first, then sent in parts as the endpoint's pacer grants slots (polled for a while when it
    // grants none), so a slot is held only while its request is out; recorded at once.
    const step = await lanes.run(
      endpointId,
      async (): Promise<{ taken: number; again?: AttemptRef[]; stepBack?: { attempts: AttemptRef[]; ms: number } }> => {
        // No more than the endpoint may have in flight: a wave is claimed at once, so all of it can be sent within
        // one turnover of the endpoint's slots.
        const wave = current.slice(0, Math.min(WAVE_SIZE, platform.config.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT));
        const started = Date.now();
        const acquire = async (holders: readonly string[]): Promise<SlotGrant> => {
          for (;;) {
            const grant = await pacer.take(endpointId, holders);
            if (grant.granted > 0) {
              const granted = holders.slice(0, grant.granted);
              slots.hold(endpointId, granted.length);
              let released: Promise<void> | undefined;
              const release = (meanLatencyMs: number) => {
                if (!released) {
                  slots.free(endpointId, granted.length);
                  released = pacer.release(endpointId, granted, meanLatencyMs).catch(() => undefined);
                }
                return released;
              };
              return { granted: granted.length, release };
            }
            // Paced: wait that long. Every in-flight slot busy: wait for this process to free some, or (others hold
            // them all) look again shortly.
            const busyMs = 50 + Math.floor(uniformRandom() * 50);
            if (Date.now() - started + (grant.waitMs || busyMs) > LANE_WAIT_MS) {
              return { granted: 0, stepBackMs: grant.waitMs > 0 ? grant.waitMs : stepBackMs() };
            }
            if (grant.waitMs > 0) await sleep(grant.waitMs);
            else if (slots.held(endpointId) > 0) await slots.freed(endpointId, Math.min(500, LANE_WAIT_MS - (Date.now() - started)));
            else await sleep(busyMs);
          }
        };
        const sent = await sendWave(platform, endpointId, wave, relayedEventId, outcomes, acquire, keep);
        if (sent.later) waiting.push(sent.later);
        if (!sent.unsent) return { taken: wave.length };
        // Some of the wave was sent: the rest goes first into the next wave. None was: the job steps back.
        if (sent.unsent.sentAny) return { taken: wave.length, again: sent.unsent.attempts };
        return { taken: wave.length, stepBack: sent.unsent };
      },
    );
    todo = (step.again ?? []).concat(current.slice(step.taken));
    if (step.stepBack) {
      // Without holding a worker slot meanwhile.
      waiting.push({ attempts: step.stepBack.attempts.concat(todo), at: Date.now() + step.stepBack.ms });
      break;
    }
  }
  if (held.length > 0) {
    // Stepping back with retries not due yet: the job comes back once all it carries is due (at most
    // IN_JOB_RETRY_MAX_MS away), so none is sent before its schedule.
    waiting.push({ attempts: held.map((h) => h.attempt), at: Math.max(...held.map((h) => h.at)) });
  }
  if (waiting.length === 0) return { outcomes };
  const at = Math.max(Math.min(...waiting.map((w) => w.at)), held.length > 0 ? Math.max(...held.map((h) => h.at)) : 0);
  return { outcomes, later: { attempts: waiting.flatMap((w) => w.attempts), waitMs: Math.max(0, at - Date.now()) } };
}

/** Send slots the pacer granted to the first `granted` holders asked for; none: step back in `stepBackMs`. */
type SlotGrant = { granted: number; release: (meanLatencyMs: number) => Promise<void> } | { granted: 0; stepBackMs: number };

/** Gives back the leases of claimed attempts a wave could not send (no slot in time): the job's next run claims them. */
const UNLEASE = `
  update webhook_deliveries set leased_until = null
   where id = any($1::uuid[]) and leased_until = $2 and status = 'pending'`;

/**
 * Claims one wave of attempts, sends the claimed ones in parts as `acquire` gets slots for them (each part's slots
 * go back as soon as its answers are in), and records every attempt sent at once. The lease covers the longest
 * wait for slots (LANE_WAIT_MS) on top of a send; what got no slot in time is unleased and comes back as `unsent`.
 */
async function sendWave(
  platform: Platform,
  endpointId: string,
  wave: readonly AttemptRef[],
  relayedEventId: string | undefined,
  outcomes: Map<string, DeliveryOutcome>,
  acquire: (holders: readonly string[]) => Promise<SlotGrant>,
  keep?: { jobId: string; held: (retry: { attempt: AttemptRef; at: number }) => void },
): Promise<{ later?: { attempts: AttemptRef[]; at: number }; unsent?: { attempts: AttemptRef[]; ms: number; sentAny: boolean } }> {
  const { db, config, clock } = platform;
  const statements = platform.resources.get(waveStatements);
  const leases = new Map<string, Date>();
  const claim = async (refs: readonly AttemptRef[]) =>
    (await Promise.all(refs.map((a) => statements.claim(a)))).flatMap((c) => {
      if (!c) return [];
      leases.set(c.row.id, c.leaseUntil);
      return [c.row];
    });
  let claimed = await claim(wave);
  let later: { attempts: AttemptRef[]; at: number } | undefined;
  if (claimed.length < wave.length) {
    const settled = await settleUnclaimed(
      platform,
      wave.filter((a) => !claimed.some((row) => row.id === a.deliveryId)),
      relayedEventId,
      outcomes,
    );
    later = settled.later;
    if (settled.retryClaim) {
      const again = wave.filter((a) => !claimed.some((row) => row.id === a.deliveryId));
      claimed = claimed.concat(await claim(again));
    }
  }
  if (claimed.length === 0) return { later };
  const byId = new Map(wave.map((a) => [a.deliveryId, a]));
  const keys = secretDecryptionKeys(config);
  const send = (part: readonly ClaimedRow[]) =>
    Promise.all(
      part.map(async (row) => {
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
        return { row, attempt: (byId.get(row.id) as AttemptRef).attempt, attemptedAt, result };
      }),
    );
  const parts: Promise<Awaited<ReturnType<typeof send>>>[] = [];
  let rest = claimed;
  let unsent: { attempts: AttemptRef[]; ms: number; sentAny: boolean } | undefined;
  while (rest.length > 0) {
    // Slots are taken only for claimed attempts, right before they are sent: a grant waits for no statement, so
    // the receiver sees sends spaced as the pacer granted them (a grant held through a claim would arrive late,
    // bunched with later parts' sends).
    const grant = await acquire(rest.map((row) => row.id));
    if (!('release' in grant)) {
      const byLease = Map.groupBy(rest, (row) => (leases.get(row.id) as Date).getTime());
      for (const [lease, rows] of byLease)
        await db.query({ name: 'webhook-delivery-unlease', text: UNLEASE }, [rows.map((row) => row.id), new Date(lease)]);
      unsent = { attempts: rest.map((row) => byId.get(row.id) as AttemptRef), ms: grant.stepBackMs, sentAny: parts.length > 0 };
      break;
    }
    const part = rest.slice(0, grant.granted);
    rest = rest.slice(grant.granted);
    const { release } = grant;
    let latency = 0;
    // The receiver is done with these requests once their answers are in: their slots go back before the record.
    const sending = send(part)
      .then((answered) => {
        latency = Math.round(answered.reduce((sum, r) => sum + r.result.latencyMs, 0) / answered.length);
        return answered;
      })
      .finally(() => release(latency));
    // Awaited below with the others; a failure must not count as unhandled meanwhile.
    sending.catch(() => undefined);
    parts.push(sending);
  }
  const results = (await Promise.all(parts)).flat();
  if (results.length === 0) return { later, unsent };

  const now = clock.now();
  // The failures due again go back as one delayed batch job per attempt number: one jitter draw (so ±20% per wave,
  // and waves are spread already), and no sooner than any of their Retry-After.
  const draws = new Map<number, number>();
  const graded = results.map(({ row, attempt, attemptedAt, result }) => {
    const code = result.statusCode;
    const ok = code !== undefined && code >= 200 && code < 300;
    const gone = code === 410;
    if (!draws.has(attempt)) draws.set(attempt, uniformRandom());
    const draw = draws.get(attempt) as number;
    const delay = ok || gone ? undefined : retryDelay(config.WEBHOOK_RETRY_DELAYS_MS, attempt, result.retryAfterMs, () => draw);
    return { row, attempt, attemptedAt, result, code, ok, gone, delay };
  });
  const groupDelay = new Map<string, number>();
  for (const g of graded) {
    if (g.delay === undefined) continue;
    const key = `${g.row.round}_${g.attempt}`;
    groupDelay.set(key, Math.max(groupDelay.get(key) ?? 0, g.delay));
  }
  // A group due again soon stays in the running batch job (it is their carrier); the others get a delayed job.
  const keptGroup = (key: string) => keep !== undefined && (groupDelay.get(key) as number) <= IN_JOB_RETRY_MAX_MS;
  const retryJobs = [...groupDelay]
    .filter(([key]) => !keptGroup(key))
    .flatMap(([key, delayMs]) =>
      batchJobs(
        endpointId,
        graded
          .filter((g) => g.delay !== undefined && `${g.row.round}_${g.attempt}` === key)
          .map((g) => ({ deliveryId: g.row.id, round: g.row.round, attempt: g.attempt + 1 })),
        config.WEBHOOK_BATCH_SIZE,
        { delayMs },
      ),
    );
  const retryJobOf = new Map<string, string>();
  if (keep)
    for (const g of graded) if (g.delay !== undefined && keptGroup(`${g.row.round}_${g.attempt}`)) retryJobOf.set(g.row.id, keep.jobId);
  for (const job of retryJobs)
    for (const d of job.payload.deliveries) retryJobOf.set(d.deliveryId, jobIdOf(job.name, job.payload) as string);
  const recorded = graded.map((g) => {
    const { row, attempt, code, ok, gone } = g;
    const delay = g.delay === undefined ? undefined : groupDelay.get(`${row.round}_${attempt}`);
    const error = ok ? null : (g.result.error ?? (code !== undefined ? `HTTP ${code}` : 'no response'));
    const outcome: AttemptOutcome = ok ? 'succeeded' : gone ? 'endpoint_gone' : delay === undefined ? 'dead_lettered' : 'retry_scheduled';
    const lastError = gone
      ? 'endpoint returned 410 Gone: disabled'
      : outcome === 'dead_lettered'
        ? `dead-lettered after ${attempt} attempts: ${error}`
        : error;
    return { ...g, delay, error, outcome, lastError };
  });
  const written = await Promise.all(
    recorded.map((r) =>
      statements.record({
        id: r.row.id,
        round: r.row.round,
        previous: r.attempt - 1,
        status: r.outcome === 'retry_scheduled' ? 'pending' : r.ok ? 'succeeded' : 'failed',
        nextAttemptAt: new Date(now.getTime() + (r.delay ?? 0)),
        statusCode: r.code ?? null,
        lastError: r.lastError,
        attemptedAt: r.attemptedAt,
        latencyMs: r.result.latencyMs,
        error: r.ok ? null : r.error,
        responseBody: r.result.responseBody ?? null,
        batchJobId: retryJobOf.get(r.row.id) ?? null,
      }),
    ),
  );
  const wrote = new Set(recorded.filter((_r, i) => written[i]).map((r) => r.row.id));
  const tally = new Map<AttemptOutcome, number>();
  for (const r of recorded) {
    if (!wrote.has(r.row.id)) {
      outcomes.set(r.row.id, { status: 'stale' });
      continue;
    }
    outcomes.set(r.row.id, { status: r.outcome, statusCode: r.code, nextAttemptInMs: r.delay });
    tally.set(r.outcome, (tally.get(r.outcome) ?? 0) + 1);
  }
  for (const [outcome, n] of tally) webhookDeliveries.inc({ outcome }, n);
  await recordHealth(platform, endpointId, recorded, now);
  // Only what was recorded goes back (a stale run's retries were queued by the run that recorded them).
  const retries = retryJobs.flatMap((job) => {
    const deliveries = job.payload.deliveries.filter((d) => wrote.has(d.deliveryId));
    if (deliveries.length === job.payload.deliveries.length) return [job];
    return deliveries.length > 0 ? [{ ...job, payload: { ...job.payload, deliveries } }] : [];
  });
  if (retries.length > 0) await enqueueBulk(platform.queues, retries);
  if (keep) {
    const at = Date.now();
    for (const r of recorded) {
      if (r.outcome !== 'retry_scheduled' || !wrote.has(r.row.id) || !keptGroup(`${r.row.round}_${r.attempt}`)) continue;
      keep.held({ attempt: { deliveryId: r.row.id, round: r.row.round, attempt: r.attempt + 1 }, at: at + (r.delay as number) });
    }
  }
  return { later, unsent };
}

/**
 * Endpoint health from a wave's answers, written only when it changes, so a healthy endpoint's row is never
 * contended: 410 disables it; any success clears `failing_since`; a wave of failures only sets it, or disables the
 * endpoint once it has been failing for WEBHOOK_DISABLE_AFTER_MS.
 */
async function recordHealth(
  platform: Platform,
  endpointId: string,
  recorded: readonly { row: ClaimedRow; ok: boolean; gone: boolean; attemptedAt: Date }[],
  now: Date,
): Promise<void> {
  const { db, config } = platform;
  const failingSince = recorded[0]?.row.failing_since ?? null;
  const anyOk = recorded.some((r) => r.ok);
  if (recorded.some((r) => r.gone)) {
    await db.transaction((tx) => disableEndpoint(tx, endpointId, 'gone', now));
  } else if (anyOk && failingSince !== null) {
    await db.query('update webhook_endpoints set failing_since = null where id = $1 and failing_since is not null', [endpointId]);
  } else if (!anyOk && failingSince === null) {
    await db.query('update webhook_endpoints set failing_since = $2 where id = $1 and failing_since is null', [
      endpointId,
      (recorded[0] as { attemptedAt: Date }).attemptedAt,
    ]);
  } else if (!anyOk && failingSince !== null && now.getTime() - ms(failingSince) >= config.WEBHOOK_DISABLE_AFTER_MS) {
    await db.transaction((tx) => disableEndpoint(tx, endpointId, 'failing', now));
  }
}

/**
 * The attempts a claim did not take: not relayed yet (wait for the relay's transaction), gone, moved on, already
 * made (make sure the next one is queued), of a disabled endpoint (cancelled), or leased by another run (come back
 * when the lease ends). `retryClaim`: some became claimable once the relay's transaction ended.
 */
async function settleUnclaimed(
  platform: Platform,
  unclaimed: readonly AttemptRef[],
  relayedEventId: string | undefined,
  outcomes: Map<string, DeliveryOutcome>,
): Promise<{ later?: { attempts: AttemptRef[]; at: number }; retryClaim: boolean }> {
  const { db, clock } = platform;
  const load = async () =>
    new Map((await db.read<UnclaimedRow>(UNCLAIMED, [unclaimed.map((a) => a.deliveryId)])).rows.map((row) => [row.id, row] as const));
  let rows = await load();
  let retryClaim = false;
  let relayed = true;
  if (rows.size < unclaimed.length && relayedEventId) {
    // The relay enqueues inside its transaction: wait for it to end (it holds the event row FOR UPDATE), then look again.
    relayed = await db.transaction(async (tx) => {
      await tx.query(`set local lock_timeout = '10s'`);
      const { rows: event } = await tx.query<{ dispatched: boolean }>(
        'select dispatched_at is not null as dispatched from outbox_events where id = $1 for key share',
        [relayedEventId],
      );
      return event[0]?.dispatched ?? true;
    });
    const before = rows.size;
    rows = await load();
    retryClaim = rows.size > before;
  }
  const now = clock.now().getTime();
  const later: AttemptRef[] = [];
  let laterAt = Number.POSITIVE_INFINITY;
  const cancel: string[] = [];
  const next: JobRequest<'webhook.deliver'>[] = [];
  for (const a of unclaimed) {
    const row = rows.get(a.deliveryId);
    if (!row) {
      // Not relayed: that relay rolled back and the next one creates this same delivery.
      outcomes.set(a.deliveryId, { status: relayed ? 'missing' : 'not_yet_relayed' });
      if (!relayed) {
        later.push(a);
        laterAt = Math.min(laterAt, now + 1_000);
      }
    } else if (row.status !== 'pending' || row.round !== a.round) {
      outcomes.set(a.deliveryId, { status: 'stale' });
    } else if (row.attempts >= a.attempt) {
      outcomes.set(a.deliveryId, { status: 'already_attempted' });
      next.push(deliverJob(row.id, row.round, row.attempts + 1, ms(row.next_attempt_at) - now));
    } else if (!row.enabled) {
      outcomes.set(a.deliveryId, { status: 'cancelled' });
      cancel.push(row.id);
    } else if (row.leased_until && ms(row.leased_until) > now) {
      outcomes.set(a.deliveryId, { status: 'deferred', waitMs: ms(row.leased_until) - now });
      later.push(a);
      laterAt = Math.min(laterAt, ms(row.leased_until) + 50);
    } else if (retryClaim) {
      // Visible only now: the second claim takes it.
    } else {
      // Claimable after all (a lease that ended between the claim and this read): the next run takes it.
      later.push(a);
      laterAt = Math.min(laterAt, now + 50);
    }
  }
  if (cancel.length > 0) {
    await db.query(
      `update webhook_deliveries set status = 'cancelled', last_error = 'endpoint disabled', updated_at = $2, leased_until = null
        where id = any($1::uuid[]) and status = 'pending'`,
      [cancel, clock.now()],
    );
    webhookDeliveries.inc({ outcome: 'cancelled' }, cancel.length);
  }
  if (next.length > 0) await enqueueBulk(platform.queues, next);
  return { later: later.length > 0 ? { attempts: later, at: laterAt } : undefined, retryClaim };
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
  const { rows } = await platform.db.query<{ status: string; enabled: boolean; endpoint_id: string }>(
    'select d.status, e.enabled, d.endpoint_id from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where d.id = $1',
    [id],
  );
  const current = rows[0];
  if (!current) throw new NotFoundError('webhook_delivery', id);
  if (!current.enabled) throw new DomainError('conflict', 'webhook_endpoint_disabled', 'The endpoint is disabled; enable it first.');
  const now = platform.clock.now();
  const { rows: updated } = await platform.db.query<{ round: number }>(
    `update webhook_deliveries set status = 'pending', round = round + 1, attempts = 0, next_attempt_at = $2, updated_at = $2,
            batch_job_id = null
      where id = $1 and status <> 'pending' returning round`,
    [id, now],
  );
  const round = updated[0]?.round;
  if (round === undefined) throw new DomainError('conflict', 'webhook_delivery_pending', 'The delivery is already being attempted.');
  await enqueue(platform.queues, 'webhook.deliver', deliverJob(id, round, 1, 0, current.endpoint_id).payload);
  return getDelivery(platform, id);
}

/** The delivery id (the stable webhook-id) of an event to an endpoint: PostgreSQL's `md5(event || ':' || endpoint)::uuid`. */
export function webhookDeliveryId(eventId: string, endpointId: string): string {
  const hex = createHash('md5').update(`${eventId.toLowerCase()}:${endpointId.toLowerCase()}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
