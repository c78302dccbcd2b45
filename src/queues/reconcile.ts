import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Platform } from '../platform.ts';
import { DURABLE_WORK, type DurableWork, type FlowRequest, type JobName, jobIdOf, payloadProblem, queueOf } from './catalog.ts';
import { enqueueBulk, enqueueFlow, findJob } from './enqueue.ts';

/**
 * PostgreSQL is the record of what is owed; Redis only schedules it. For every kind of durable work in the catalogue
 * (DURABLE_WORK) the reconciler walks the rows that still owe work, looks up each one's job by its deterministic id,
 * and re-creates the jobs Redis lost (it restarted empty, failed over to an empty replica, was flushed; or a process
 * died between commit and enqueue). A job must be seen missing for `missingFor` (one RECONCILE_INTERVAL_MS by
 * default) before it is re-created, across rounds: a producer about to enqueue, or a job that vanished while its
 * worker was still finishing it, has settled by then. Each job is idempotent anyway, so a re-created job that finds
 * its work done does nothing.
 */

export interface ReconcileOptions {
  /** Only these kinds (default: every kind in the catalogue). */
  only?: readonly JobName[];
  /** Re-create at first sight instead of after the kind's `missingFor` (an operator or a test forcing a round). */
  missingForMs?: number;
}

export interface RecreatedJob {
  name: JobName;
  jobId: string;
  /** The row that owed it. */
  rowId: string;
}

const PAGE = 1_000;
const ROUND_LOCK_MS = 30_000;
/** Job lookups in flight at once (pipelined on the one producer connection). */
const LOOKUPS = 200;

type Kind = { name: JobName; spec: DurableWork<JobName> };

interface Owed {
  rowId: string;
  request: FlowRequest;
  jobId: string;
  /** The job under that id, when it exists but finished. */
  finished?: Job;
}

function kinds(only?: readonly JobName[]): Kind[] {
  return (Object.entries(DURABLE_WORK) as [JobName, DurableWork<JobName>][])
    .filter(([name]) => !only || only.includes(name))
    .map(([name, spec]) => ({ name, spec }));
}

/**
 * The scheduled round: one at a time across every process (a round that runs longer than RECONCILE_INTERVAL_MS is
 * not joined by the next tick); 'busy' when another round holds the lock. A process that dies mid-round leaves the
 * lock to expire after ROUND_LOCK_MS.
 */
export async function reconcileRound(platform: Platform): Promise<RecreatedJob[] | 'busy'> {
  const lock = `${platform.config.QUEUE_PREFIX}:reconcile:lock`;
  const token = randomUUID();
  if ((await platform.redis.set(lock, token, 'PX', ROUND_LOCK_MS, 'NX')) !== 'OK') return 'busy';
  try {
    return await reconcileLostWork(platform);
  } finally {
    if ((await platform.redis.get(lock).catch(() => null)) === token) await platform.redis.del(lock).catch(() => undefined);
  }
}

/** One pass over every kind (or the `only` ones); returns the jobs it re-created. */
export async function reconcileLostWork(platform: Platform, options: ReconcileOptions = {}): Promise<RecreatedJob[]> {
  const recreated: RecreatedJob[] = [];
  for (const kind of kinds(options.only)) recreated.push(...(await reconcileKind(platform, kind, options)));
  return recreated;
}

function owedSql(spec: DurableWork<JobName>, where: string): string {
  return `select id${spec.columns ? `, ${spec.columns}` : ''} from ${spec.table} where (${spec.owed}) and ${where}`;
}

/**
 * Walks up to RECONCILE_BATCH_SIZE owed rows of one kind, continuing from where the previous round stopped (the
 * cursor lives in Redis, so a Redis that lost its data starts over from the first row, which is what it needs).
 */
async function reconcileKind(platform: Platform, kind: Kind, options: ReconcileOptions): Promise<RecreatedJob[]> {
  const { config, db, redis } = platform;
  const keys = {
    cursor: `${config.QUEUE_PREFIX}:reconcile:${kind.name}:cursor`,
    missing: `${config.QUEUE_PREFIX}:reconcile:${kind.name}:missing`,
  };
  const missingFor = options.missingForMs ?? kind.spec.missingFor?.(config) ?? config.RECONCILE_INTERVAL_MS;
  let cursor: string | null = (await redis.get(keys.cursor)) || null;
  const recreated: RecreatedJob[] = [];
  for (let checked = 0; checked < config.RECONCILE_BATCH_SIZE; ) {
    const limit = Math.min(PAGE, config.RECONCILE_BATCH_SIZE - checked);
    const { rows } = await db.query<{ id: string }>(`${owedSql(kind.spec, '($1::uuid is null or id > $1)')} order by id limit $2`, [
      cursor,
      limit,
    ]);
    checked += rows.length;
    const due = await settled(platform, keys.missing, await jobless(platform, kind, rows), missingFor);
    recreated.push(...(await recreate(platform, kind, due, keys.missing)));
    cursor = rows.length < limit ? null : (rows.at(-1)?.id ?? null);
    if (cursor === null) break;
  }
  if (cursor) await redis.set(keys.cursor, cursor, 'PX', Math.max(60_000, 10 * config.RECONCILE_INTERVAL_MS));
  else await redis.del(keys.cursor);
  return recreated;
}

function owedOf(platform: Platform, kind: Kind, row: { id: string }): Owed {
  const request = kind.spec.work(row, platform.clock.now());
  const jobId = jobIdOf(request.name, request.payload as never);
  if (!jobId) throw new Error(`durable work ${kind.name} has no deterministic job id`);
  return { rowId: row.id, request, jobId };
}

/**
 * The rows whose job is gone or finished (completed or failed for good while the row still owes work, say after its
 * retries ran out while the database was away), and the ids of the jobs found alive
 * (so a job that was missing and came back is not remembered as missing).
 */
async function jobless(platform: Platform, kind: Kind, rows: { id: string }[]): Promise<{ owed: Owed[]; alive: string[] }> {
  const owed: Owed[] = [];
  const alive: string[] = [];
  // Many rows share one batch job: each is looked up once per page, and before the row's own job.
  const carriers = new Map<string, Promise<Job | undefined>>();
  const carrierOf = (holder: { name: JobName; jobId: string }) => {
    let found = carriers.get(holder.jobId);
    if (!found) {
      found = platform.queues.get(queueOf(holder.name)).getJob(holder.jobId);
      carriers.set(holder.jobId, found);
    }
    return found;
  };
  for (let i = 0; i < rows.length; i += LOOKUPS) {
    await Promise.all(
      rows.slice(i, i + LOOKUPS).map(async (row) => {
        const candidate = owedOf(platform, kind, row);
        const holder = kind.spec.heldBy?.(row);
        const carrier = holder ? await carrierOf(holder) : undefined;
        const job = carrier && !carrier.finishedOn ? carrier : await findJob(platform.queues, candidate.request);
        if (!job) owed.push(candidate);
        else if (job.finishedOn) owed.push({ ...candidate, finished: job });
        else alive.push(candidate.jobId);
      }),
    );
  }
  return { owed, alive };
}

/**
 * Remembers in a Redis hash (job id → when first found missing) which jobs are missing, forgets those found alive
 * again, and returns the ones missing for at least `missingFor`. A pass over a large backlog may span several
 * rounds; the hash spans them.
 */
async function settled(platform: Platform, key: string, found: { owed: Owed[]; alive: string[] }, missingFor: number): Promise<Owed[]> {
  const { redis, config } = platform;
  if (found.alive.length > 0 && (await redis.exists(key))) await redis.hdel(key, ...found.alive);
  if (found.owed.length === 0) return [];
  const now = Date.now();
  const seen = await redis.hmget(key, ...found.owed.map((o) => o.jobId));
  const firstSight: Record<string, string> = {};
  const due: Owed[] = [];
  found.owed.forEach((o, i) => {
    const first = seen[i] ? Number(seen[i]) : undefined;
    if (first === undefined) firstSight[o.jobId] = String(now);
    if (missingFor === 0 || (first !== undefined && now - first >= missingFor)) due.push(o);
  });
  if (Object.keys(firstSight).length > 0) await redis.hset(key, firstSight);
  await redis.pexpire(key, Math.max(3_600_000, 100 * config.RECONCILE_INTERVAL_MS));
  return due;
}

function invalidPayload(request: FlowRequest): string | undefined {
  const own = payloadProblem(request.name, request.payload);
  if (own) return `${request.name}: ${own}`;
  for (const child of request.children ?? []) {
    const problem = invalidPayload(child);
    if (problem) return problem;
  }
  return undefined;
}

async function recreate(platform: Platform, kind: Kind, due: Owed[], missingKey: string): Promise<RecreatedJob[]> {
  if (due.length === 0) return [];
  // Read the rows again: one whose job finished or moved on meanwhile was being worked on, not lost.
  const { rows } = await platform.db.query<{ id: string }>(owedSql(kind.spec, 'id = any($1::uuid[])'), [due.map((o) => o.rowId)]);
  const still = new Map(rows.map((row) => [row.id, owedOf(platform, kind, row)]));
  const lost = due.flatMap((owed) => {
    const now = still.get(owed.rowId);
    if (!now || now.jobId !== owed.jobId) return [];
    // A row the catalogue cannot turn into a valid job is reported, not retried into a job that would only fail.
    const problem = invalidPayload(now.request);
    if (problem) platform.logger.error({ kind: kind.name, rowId: owed.rowId, problem }, 'durable work row builds an invalid payload');
    return problem ? [] : [{ ...owed, request: now.request }];
  });
  await Promise.all(lost.map((owed) => owed.finished?.remove().catch(() => undefined)));
  // Single jobs in bulk; flows one by one (each is one MULTI with its children).
  await enqueueBulk(
    platform.queues,
    lost.filter((owed) => !owed.request.children?.length).map((owed) => owed.request),
  );
  for (const owed of lost) if (owed.request.children?.length) await enqueueFlow(platform.queues, owed.request);
  await platform.redis.hdel(missingKey, ...due.map((o) => o.jobId));
  return lost.map((owed) => ({ name: kind.name, jobId: owed.jobId, rowId: owed.rowId }));
}
