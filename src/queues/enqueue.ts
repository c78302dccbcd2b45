import type { FlowJobNode, Job, JobsOptions } from 'bullmq';
import {
  defaultOptionsOf,
  type FlowRequest,
  type JobName,
  type JobOptions,
  type JobPayload,
  type JobRequest,
  jobIdOf,
  type QueueName,
  queueOf,
  SCHEDULE_IDS,
  type ScheduleId,
  scheduleOf,
} from './catalog.ts';
import type { QueueSet } from './queues.ts';

/**
 * The one way onto a queue. Every call is held against the catalogue by the type-checker (a name it does not know,
 * or a payload that is not that name's, does not compile); the queue, the default options and the deterministic job
 * id come from the catalogue. No other module calls Queue.add, addBulk, FlowProducer.add or upsertJobScheduler
 * (test/unit/job-catalog.test.ts scans for them).
 */

/** addBulk writes one MULTI per call: keep each of them a reasonable size. */
const BULK_SIZE = 1_000;

function optionsOf(queues: QueueSet, request: JobRequest): JobsOptions {
  const jobId = jobIdOf(request.name, request.payload as never);
  return { ...defaultOptionsOf(request.name, queues.config), ...request.overrides, ...(jobId ? { jobId } : {}) };
}

/** Adds one job. With a deterministic id, a job BullMQ still holds under that id makes this a no-op. */
export function enqueue<N extends JobName>(queues: QueueSet, name: N, payload: JobPayload<N>, overrides?: JobOptions): Promise<Job> {
  const request = { name, payload, overrides } as JobRequest;
  return queues.get(queueOf(name)).add(name, payload, optionsOf(queues, request));
}

/** Adds many jobs, of any names, one addBulk per queue and per thousand. */
export async function enqueueBulk(queues: QueueSet, requests: readonly JobRequest[]): Promise<void> {
  const byQueue = new Map<QueueName, JobRequest[]>();
  for (const request of requests) {
    const queue = queueOf(request.name);
    const list = byQueue.get(queue);
    if (list) list.push(request);
    else byQueue.set(queue, [request]);
  }
  for (const [queue, list] of byQueue) {
    for (let i = 0; i < list.length; i += BULK_SIZE) {
      await queues
        .get(queue)
        .addBulk(list.slice(i, i + BULK_SIZE).map((r) => ({ name: r.name, data: r.payload, opts: optionsOf(queues, r) })));
    }
  }
}

/** Adds a parent and the jobs it waits for (a job without children is added as itself). */
export async function enqueueFlow(queues: QueueSet, flow: FlowRequest): Promise<void> {
  if (!flow.children || flow.children.length === 0) {
    await enqueue(queues, flow.name, flow.payload as never, flow.overrides);
    return;
  }
  await queues.flows.add(flowNode(queues, flow) as FlowJobNode & { children: FlowJobNode[] });
}

function flowNode(queues: QueueSet, node: FlowRequest): FlowJobNode {
  const base = { name: node.name, queueName: queueOf(node.name), data: node.payload, opts: optionsOf(queues, node) };
  return node.children && node.children.length > 0 ? { ...base, children: node.children.map((child) => flowNode(queues, child)) } : base;
}

/** The job BullMQ holds under the request's deterministic id, if any. */
export async function findJob(queues: QueueSet, request: JobRequest): Promise<Job | undefined> {
  const jobId = jobIdOf(request.name, request.payload as never);
  if (!jobId) throw new Error(`job ${request.name} has no deterministic id`);
  return queues.get(queueOf(request.name)).getJob(jobId);
}

/** The parent of a job added in a flow, to report progress on it. */
export async function parentOf(queues: QueueSet, job: Job): Promise<Job | undefined> {
  if (!job.parent?.id) return undefined;
  const queue = job.parent.queueKey.slice(queues.prefix.length + 1) as QueueName;
  return queues.get(queue).getJob(job.parent.id);
}

/** How much of a flow's work is done. */
export interface Progress {
  done: number;
  total: number;
}

/**
 * Shows a flow child's progress on its parent, for Bull Board: `share` reads how much of the whole is done (the API
 * reports the exact counts). A parent that is gone, or a failed update, changes nothing.
 */
export async function reportParentProgress(queues: QueueSet, job: Job, share: () => Promise<Progress | undefined>): Promise<void> {
  const parent = await parentOf(queues, job);
  if (!parent) return;
  const s = await share();
  if (s && s.total > 0) await parent.updateProgress(Math.min(100, Math.floor((s.done * 100) / s.total))).catch(() => undefined);
}

/**
 * Removes the schedulers of a queue that the catalogue no longer has (a job renamed or retired by an upgrade), whose
 * jobs would otherwise fail with no handler at every tick. Returns their ids.
 */
export async function retireSchedules(queues: QueueSet, queue: QueueName): Promise<string[]> {
  const q = queues.get(queue);
  const stale = (await q.getJobSchedulers()).map((s) => s.key).filter((key) => !(SCHEDULE_IDS as string[]).includes(key));
  for (const key of stale) await q.removeJobScheduler(key);
  return stale;
}

/** Creates the schedule's job scheduler, or updates it to the current configuration (idempotent per id). */
export async function assertSchedule(queues: QueueSet, id: ScheduleId): Promise<void> {
  const { job, repeat } = scheduleOf(id);
  const { delay: _delay, deduplication: _deduplication, ...opts } = defaultOptionsOf(job, queues.config);
  await queues.get(queueOf(job)).upsertJobScheduler(id, repeat(queues.config), { name: job, data: {}, opts });
}
