import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../../config/index.ts';

/**
 * The catalogue of background work: every queue, every job name with its queue, payload schema, default options and
 * deterministic job id, every schedule, and every kind of durable work the reconciler re-creates when Redis loses its
 * job. Producers go through `enqueue` (enqueue.ts), workers through jobs/registry.ts; nothing else names a queue.
 */

/** Options a producer may set on one job: BullMQ's, minus what the catalogue owns (the id) or flows and schedules set. */
export type JobOptions = Omit<JobsOptions, 'jobId' | 'parent' | 'repeat'>;

interface QueueSpec {
  /** Jobs of this queue one worker process runs at once. */
  concurrency(config: Config): number;
  /** BullMQ's limiter: at most `max` jobs per `duration` ms, counted across every worker of the queue. */
  limiter?(config: Config): { max: number; duration: number };
}

const QUEUES = {
  generation: { concurrency: (c) => c.WORKER_CONCURRENCY },
  'generation-chunk': { concurrency: (c) => c.GENERATION_CONCURRENCY },
  // One queue per channel so each provider has its own send rate.
  'delivery-email': {
    concurrency: (c) => c.DELIVERY_CONCURRENCY,
    limiter: (c) => ({ max: c.EMAIL_RATE_MAX, duration: c.EMAIL_RATE_DURATION_MS }),
  },
  'delivery-sms': {
    concurrency: (c) => c.DELIVERY_CONCURRENCY,
    limiter: (c) => ({ max: c.SMS_RATE_MAX, duration: c.SMS_RATE_DURATION_MS }),
  },
  distribution: { concurrency: (c) => c.WORKER_CONCURRENCY },
  'distribution-chunk': { concurrency: (c) => c.WORKER_CONCURRENCY },
  'business-events': { concurrency: (c) => c.WORKER_CONCURRENCY },
  outbox: { concurrency: (c) => c.WORKER_CONCURRENCY },
  // Deliveries wait on receivers, not on CPU: many at once.
  webhook: { concurrency: (c) => c.WEBHOOK_DELIVERY_CONCURRENCY },
  maintenance: { concurrency: (c) => c.WORKER_CONCURRENCY },
  // Exports are long sequential scans: a few at a time so they never starve the pool.
  exports: { concurrency: (c) => c.EXPORT_CONCURRENCY },
  import: { concurrency: (c) => c.WORKER_CONCURRENCY },
  // Bulk writes like generation chunks: a couple at a time keeps both cores busy without starving the pool.
  'import-chunk': { concurrency: (c) => c.IMPORT_CONCURRENCY },
} satisfies Record<string, QueueSpec>;

export type QueueName = keyof typeof QUEUES;
/** Every BullMQ queue the platform uses. A worker process serves any subset (WORKER_QUEUES). */
export const QUEUE_NAMES = Object.keys(QUEUES) as [QueueName, ...QueueName[]];

export function queueSpec(queue: QueueName): QueueSpec {
  return QUEUES[queue];
}

/** Every job: retries with backoff; finished jobs kept long enough to inspect in Bull Board, then trimmed. */
export const BASE_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const satisfies JobOptions;

/** Scheduled runs act on whatever is due: one attempt (the next tick is the retry) and a short history. */
const SCHEDULED_RUN = { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } as const satisfies JobOptions;

interface JobSpec<S extends z.ZodType> {
  queue: QueueName;
  payload: S;
  /** Merged over BASE_JOB_OPTIONS; a producer's overrides win over both. */
  options?: JobOptions | ((config: Config) => JobOptions);
  /** Deterministic id: enqueuing the same work twice adds one job. BullMQ refuses ids with `:` or that are integers. */
  jobId?(payload: z.output<S>): string;
}

function job<S extends z.ZodType>(spec: JobSpec<S>): JobSpec<S> {
  return spec;
}

/** Row ids as PostgreSQL prints them (gen_random_uuid and md5-derived ids alike, so not RFC-variant checked). */
const rowId = z.guid();
const index = z.number().int().min(0);
const noPayload = z.object({});

/** A job about one row: its payload is `{ [key]: <row id> }`, its job id `<prefix>-<row id>`. */
function rowJob<K extends string>(queue: QueueName, key: K, prefix: string, options?: JobSpec<z.ZodType>['options']) {
  const payload = z.object({ [key]: rowId } as { [P in K]: typeof rowId });
  return job({ queue, payload, options, jobId: (p) => `${prefix}-${(p as Record<string, string>)[key]}` });
}

/**
 * One chunk of a parent row's work (a flow child of its finalize job): its payload is `{ [key]: <row id>, chunkIndex }`
 * and `more`, its job id `<prefix>-<row id>-chunk-<index>`. A chunk that fails for good must not block its parent:
 * the finalize job accounts for what the chunk did not do.
 */
function chunkJob<K extends string, M extends z.ZodRawShape = Record<never, never>>(queue: QueueName, key: K, prefix: string, more?: M) {
  const payload = z.object({ [key]: rowId, chunkIndex: index, ...more } as { [P in K]: typeof rowId } & { chunkIndex: typeof index } & M);
  return job({
    queue,
    payload,
    options: { ignoreDependencyOnFailure: true },
    jobId: (p) => `${prefix}-${(p as Record<string, string>)[key]}-chunk-${(p as { chunkIndex: number }).chunkIndex}`,
  });
}

/** Infrastructure failures (database away) are retried by BullMQ; receiver failures follow WEBHOOK_RETRY_DELAYS_MS. */
const WEBHOOK_ATTEMPT_OPTIONS = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 3600, count: 5_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const satisfies JobOptions;

const JOBS = {
  'generation.finalize': rowJob('generation', 'generationId', 'gen'),
  // Finalize counts what the chunks recorded.
  'generation.chunk': chunkJob('generation-chunk', 'generationId', 'gen', { size: z.number().int().positive() }),
  // One message; a queue per channel so each provider has its own send rate.
  'delivery.email': rowJob('delivery-email', 'deliveryId', 'dlv', deliveryOptions),
  'delivery.sms': rowJob('delivery-sms', 'deliveryId', 'dlv', deliveryOptions),
  // Messages of one channel queued together (a distribution chunk, a publication burst): one job for up to
  // DELIVERY_BATCH_SIZE; a message that fails for a while goes on as its own delivery.email / delivery.sms retry.
  'delivery.email-batch': deliveryBatchJob('delivery-email'),
  'delivery.sms-batch': deliveryBatchJob('delivery-sms'),
  'distribution.finalize': rowJob('distribution', 'distributionId', 'dist'),
  'distribution.chunk': chunkJob('distribution-chunk', 'distributionId', 'dist'),
  'business-event.process': rowJob('business-events', 'eventId', 'evt'),
  'outbox.relay': job({
    queue: 'outbox',
    payload: noPayload,
    options: { removeOnComplete: true, removeOnFail: { count: 100 } },
    // A wake-up: calls within the same 50 ms share one run (the scheduler's own runs get BullMQ's ids).
    jobId: () => `relay-wake-${Math.floor(Date.now() / 50)}`,
  }),
  'webhook.deliver': job({
    queue: 'webhook',
    payload: z.object({
      deliveryId: rowId,
      /** Which round of attempts (a manual retry or a replay starts a new one) and which attempt in it. */
      round: z.number().int().positive(),
      attempt: z.number().int().positive(),
      /** Whose pacing it takes (set by every producer since deliveries went in batches; looked up when absent). */
      endpointId: rowId.optional(),
      /** Unused since pacing went in batches; accepted from jobs an older version queued. */
      slotAt: z.number().optional(),
      /** Set by an older relay, whose transaction may not have committed yet when the job starts. */
      eventId: rowId.optional(),
    }),
    options: WEBHOOK_ATTEMPT_OPTIONS,
    // One job per attempt, so a relay or the reconciler running twice adds each attempt once.
    jobId: (p) => `wd_${p.deliveryId}_${p.round}_${p.attempt}`,
  }),
  // First attempts of one endpoint's deliveries from one relay batch: sent concurrently, recorded at once; only the
  // failed ones come back, each as a webhook.deliver retry.
  'webhook.deliver-batch': job({
    queue: 'webhook',
    payload: z.object({
      endpointId: rowId,
      deliveries: z.array(z.object({ deliveryId: rowId, round: z.number().int().positive(), attempt: z.number().int().positive() })).min(1),
      /** An event of the relay's transaction, which may not have committed yet when the job starts. */
      relayedEventId: rowId.optional(),
    }),
    options: WEBHOOK_ATTEMPT_OPTIONS,
    // A batch's deliveries are sorted by id and share one round and attempt number: the same rows make the same job.
    jobId: (p) => `wdb_${p.deliveries[0]?.deliveryId}_${p.deliveries[0]?.round}_${p.deliveries[0]?.attempt}_${p.deliveries.length}`,
  }),
  'webhook.replay': job({
    queue: 'webhook',
    payload: z.object({ endpointId: rowId, since: z.iso.datetime(), requestedAt: z.iso.datetime() }),
    options: { attempts: 10 },
    jobId: (p) => `replay_${p.endpointId}_${Date.parse(p.since)}_${Date.parse(p.requestedAt)}`,
  }),
  'expiry.sweep': job({ queue: 'maintenance', payload: noPayload, options: SCHEDULED_RUN }),
  'report.daily': job({
    queue: 'maintenance',
    /** `day` (YYYY-MM-DD in REPORT_TIMEZONE) re-runs a past day; scheduled runs report yesterday. */
    payload: z.object({ day: z.iso.date().optional() }),
    options: SCHEDULED_RUN,
  }),
  'export.run': rowJob('exports', 'exportId', 'export'),
  'import.finalize': rowJob('import', 'importId', 'imp'),
  // Finalize reports a failed chunk's rows as not processed.
  'import.chunk': chunkJob('import-chunk', 'importId', 'imp'),
  'export.cleanup': job({ queue: 'maintenance', payload: noPayload, options: SCHEDULED_RUN }),
  // One reservation's expiry, delayed to its expires_at; the sweep below expires whatever is due in batches.
  'reservation.expire': rowJob('maintenance', 'reservationId', 'rsv'),
  'reservations.sweep': job({ queue: 'maintenance', payload: noPayload, options: SCHEDULED_RUN }),
  'idempotency.cleanup': job({ queue: 'maintenance', payload: noPayload, options: SCHEDULED_RUN }),
  'work.reconcile': job({ queue: 'maintenance', payload: noPayload, options: SCHEDULED_RUN }),
};

function deliveryBatchJob(queue: QueueName) {
  return job({
    queue,
    payload: z.object({ deliveryIds: z.array(rowId).min(1) }),
    options: deliveryOptions,
    // The ids are sorted: the same messages make the same job.
    jobId: (p) => `dlvb-${p.deliveryIds[0]}-${p.deliveryIds.length}`,
  });
}

function deliveryOptions(config: Config): JobOptions {
  return {
    attempts: config.DELIVERY_MAX_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.DELIVERY_BACKOFF_MS },
    removeOnComplete: { age: 24 * 3600, count: 20_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.output<(typeof JOBS)[N]['payload']>;
export const JOB_NAMES = Object.keys(JOBS) as [JobName, ...JobName[]];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOBS, name);
}

export function queueOf(name: JobName): QueueName {
  return JOBS[name].queue;
}

/** The job's deterministic id for this payload, or undefined when BullMQ numbers it (scheduled and manual runs). */
export function jobIdOf<N extends JobName>(name: N, payload: JobPayload<N>): string | undefined {
  const spec: JobSpec<z.ZodType> = JOBS[name];
  return spec.jobId?.(payload);
}

/** BASE_JOB_OPTIONS, then the job's own defaults, then the producer's overrides. */
export function defaultOptionsOf(name: JobName, config: Config): JobOptions {
  const spec: JobSpec<z.ZodType> = JOBS[name];
  const own = spec.options;
  return { ...BASE_JOB_OPTIONS, ...(typeof own === 'function' ? own(config) : own) };
}

/** Why a payload does not match its job's schema (each field and what is wrong), or undefined when it does. */
export function payloadProblem(name: JobName, data: unknown): string | undefined {
  const result = JOBS[name].payload.safeParse(data);
  if (result.success) return undefined;
  return result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(payload)'}: ${issue.message}`).join('; ');
}

/** A job as a producer asks for it, type-checked against the catalogue: the payload must be the name's. */
export type JobRequest<N extends JobName = JobName> = {
  [K in N]: { name: K; payload: JobPayload<K>; overrides?: JobOptions };
}[N];

/** A job and the jobs it waits for (a BullMQ flow: the parent runs once every child has finished). */
export type FlowRequest<N extends JobName = JobName> = JobRequest<N> & { children?: readonly FlowRequest[] };

interface ScheduleSpec {
  job: JobName;
  repeat(config: Config): { pattern: string; tz?: string } | { every: number };
}

/**
 * Every schedule, by scheduler id. Every worker process serving the job's queue upserts them at start, every
 * RECONCILE_INTERVAL_MS and on every Redis reconnect (jobs/schedules.ts): upserting an id is idempotent, so however
 * many processes do it there is one scheduler each, and a Redis that lost its data gets them back.
 */
const SCHEDULES = {
  // Re-creates jobs Redis lost for the durable work below.
  'work-reconcile': { job: 'work.reconcile', repeat: (c) => ({ every: c.RECONCILE_INTERVAL_MS }) },
  'outbox-relay': { job: 'outbox.relay', repeat: (c) => ({ every: c.OUTBOX_RELAY_INTERVAL_MS }) },
  'expiry-sweep': { job: 'expiry.sweep', repeat: (c) => ({ pattern: c.EXPIRY_SWEEP_CRON }) },
  'report-daily': { job: 'report.daily', repeat: (c) => ({ pattern: c.REPORT_CRON, tz: c.REPORT_TIMEZONE }) },
  'export-cleanup': { job: 'export.cleanup', repeat: (c) => ({ pattern: c.EXPORT_CLEANUP_CRON }) },
  'reservations-sweep': { job: 'reservations.sweep', repeat: (c) => ({ every: c.RESERVATION_SWEEP_INTERVAL_MS }) },
  'idempotency-cleanup': { job: 'idempotency.cleanup', repeat: (c) => ({ pattern: c.IDEMPOTENCY_CLEANUP_CRON }) },
} satisfies Record<string, ScheduleSpec>;

export type ScheduleId = keyof typeof SCHEDULES;
export const SCHEDULE_IDS = Object.keys(SCHEDULES) as ScheduleId[];

export function scheduleOf(id: ScheduleId): ScheduleSpec {
  return SCHEDULES[id];
}

/** Every chunk index of a flow of `count` chunks. */
const allChunks = (count: number) => Array.from({ length: count }, (_, i) => i);

/** A finalize job over one chunk job per index: every chunk, or only `chunks` (those not done yet) when given. */
function chunkFlow<N extends JobName>(
  parent: JobRequest<N>,
  chunkCount: number,
  chunks: readonly number[] | undefined,
  child: (chunkIndex: number) => FlowRequest,
): FlowRequest<N> {
  return { ...parent, children: (chunks ?? allChunks(chunkCount)).map(child) };
}

/** All the chunks of a generation, or only those not written yet (recorded in generation_chunks). */
export function generationWork(
  g: { id: string; requested: number; chunk_size: number; chunk_count: number },
  chunks?: readonly number[],
): FlowRequest<'generation.finalize'> {
  const size = (chunkIndex: number) => Math.min(g.chunk_size, g.requested - chunkIndex * g.chunk_size);
  return chunkFlow({ name: 'generation.finalize', payload: { generationId: g.id } }, g.chunk_count, chunks, (chunkIndex) => ({
    name: 'generation.chunk',
    payload: { generationId: g.id, chunkIndex, size: size(chunkIndex) },
  }));
}

/** All the chunks of a distribution, or only those not processed yet (recorded in distribution_chunks). */
export function distributionWork(d: { id: string; chunk_count: number }, chunks?: readonly number[]): FlowRequest<'distribution.finalize'> {
  return chunkFlow({ name: 'distribution.finalize', payload: { distributionId: d.id } }, d.chunk_count, chunks, (chunkIndex) => ({
    name: 'distribution.chunk',
    payload: { distributionId: d.id, chunkIndex },
  }));
}

/** All the chunks of an import, or only those not written yet (recorded in import_chunks). */
export function importWork(i: { id: string; chunk_count: number }, chunks?: readonly number[]): FlowRequest<'import.finalize'> {
  return chunkFlow({ name: 'import.finalize', payload: { importId: i.id } }, i.chunk_count, chunks, (chunkIndex) => ({
    name: 'import.chunk',
    payload: { importId: i.id, chunkIndex },
  }));
}

/**
 * Work whose record is a PostgreSQL row: while the row says work is owed, a job must exist. The reconciler
 * (reconcile.ts) reads `select id, <columns> from <table> where <owed>` in id order, checks each row's job by its
 * deterministic id, and re-creates the job (or flow) a row is owed when it has been missing, or has finished while
 * the row still owes work (its retries ran out while the database was away, say), for `missingFor`. Every job below
 * is idempotent (completion recorded in its transaction, send leases, conditional updates), so a job that runs again
 * finds its work done.
 */
export interface DurableWork<N extends JobName> {
  table: string;
  /** SQL condition on `table`: the row still owes work. */
  owed: string;
  /** Columns (besides id) that `work` reads. */
  columns?: string;
  /** How long a job must have been missing before it is re-created (default RECONCILE_INTERVAL_MS). */
  missingFor?(config: Config): number;
  /** The job (or flow: its parent is the one checked) that the row is owed. */
  work(row: any, now: Date): FlowRequest<N>;
  /** Another job that may carry the row's work instead (a batch): while it is alive, the row's work is not lost. */
  heldBy?(row: any): { name: JobName; jobId: string } | undefined;
}

/** Work a flow of chunk jobs does: owed while queued or running, re-created with the chunks not yet written. */
const chunkedWork = (table: string, chunkTable: string, key: string, columns = '') => ({
  table,
  owed: `status in ('queued', 'running')`,
  columns: `${columns}chunk_count, array(select i from generate_series(0, ${table}.chunk_count - 1) i
          where not exists (select 1 from ${chunkTable} c where c.${key} = ${table}.id and c.chunk_index = i)) as chunks`,
});

/** A channel's deliveries: owed while queued, each its own job unless a batch job of the channel carries it. */
function queuedDeliveries<C extends 'email' | 'sms'>(channel: C): DurableWork<`delivery.${C}`> {
  return {
    table: 'deliveries',
    owed: `status = 'queued' and channel = '${channel}'`,
    columns: 'batch_job_id',
    work: (d: { id: string }) => ({ name: `delivery.${channel}`, payload: { deliveryId: d.id } }) as FlowRequest<`delivery.${C}`>,
    heldBy: (d: { batch_job_id?: string | null }) =>
      d.batch_job_id ? { name: `delivery.${channel}-batch`, jobId: d.batch_job_id } : undefined,
  };
}

export const DURABLE_WORK: { [N in JobName]?: DurableWork<N> } = {
  'generation.finalize': {
    ...chunkedWork('generations', 'generation_chunks', 'generation_id', 'requested, chunk_size, '),
    work: (g: { id: string; requested: number; chunk_size: number; chunk_count: number; chunks: number[] }) => generationWork(g, g.chunks),
  },
  'distribution.finalize': {
    // 'receiving' is still uploading (no job yet); from 'delivering' on, the deliveries carry the work.
    ...chunkedWork('distributions', 'distribution_chunks', 'distribution_id'),
    work: (d: { id: string; chunk_count: number; chunks: number[] }) => distributionWork(d, d.chunks),
  },
  'delivery.email': queuedDeliveries('email'),
  'delivery.sms': queuedDeliveries('sms'),
  'webhook.deliver': {
    table: 'webhook_deliveries',
    // A leased delivery is being sent right now (its lease ends when its attempt is recorded, or times out).
    owed: `status = 'pending' and (leased_until is null or leased_until < now())`,
    columns: 'round, attempts, endpoint_id, batch_job_id, extract(epoch from next_attempt_at) * 1000 as due_at',
    // Longer than a request to a receiver may take, so an attempt in flight when its job vanished is not sent twice.
    missingFor: (c) => c.WEBHOOK_REQUEUE_AFTER_MS,
    work: (d: { id: string; round: number; attempts: number; endpoint_id?: string; due_at: number }, now) => ({
      name: 'webhook.deliver',
      payload: { deliveryId: d.id, round: d.round, attempt: d.attempts + 1, endpointId: d.endpoint_id },
      overrides: { delay: Math.max(0, Math.round(Number(d.due_at) - now.getTime())) },
    }),
    // A relayed delivery's first attempt rides in its relay batch's job, a retry in its wave's.
    heldBy: (d: { batch_job_id?: string | null }) =>
      d.batch_job_id ? { name: 'webhook.deliver-batch', jobId: d.batch_job_id } : undefined,
  },
  'import.finalize': {
    // An import row exists only once its upload committed (one transaction), so every owed row has its payloads.
    ...chunkedWork('imports', 'import_chunks', 'import_id'),
    work: (i: { id: string; chunk_count: number; chunks: number[] }) => importWork(i, i.chunks),
  },
  'export.run': {
    table: 'exports',
    owed: `status in ('queued', 'running')`,
    work: (e: { id: string }) => ({ name: 'export.run', payload: { exportId: e.id } }),
  },
  'reservation.expire': {
    table: 'reservations',
    owed: `status = 'held'`,
    columns: 'extract(epoch from expires_at) * 1000 as due_at',
    work: (r: { id: string; due_at: number }, now) => ({
      name: 'reservation.expire',
      payload: { reservationId: r.id },
      overrides: { delay: Math.max(0, Math.round(Number(r.due_at) - now.getTime())) },
    }),
  },
  'business-event.process': {
    table: 'business_events',
    owed: `status = 'received'`,
    work: (e: { id: string }) => ({ name: 'business-event.process', payload: { eventId: e.id } }),
  },
};
