import type { Job } from 'bullmq';
import { z } from 'zod';
import { DomainError, NotFoundError } from '../shared/errors.ts';
import { QUEUE_NAMES, type QueueName } from './catalog.ts';
import type { QueueSet } from './queues.ts';

export const failedJobsQuery = z.object({
  queue: z.enum(QUEUE_NAMES).optional().describe('Only this queue (default: every queue)'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const retryFailedQuery = z.object({
  queue: z.enum(QUEUE_NAMES).optional().describe('Only this queue (default: every queue)'),
});

export const failedJobViewSchema = z
  .object({
    queue: z.string(),
    id: z.string(),
    name: z.string(),
    failed_reason: z.string(),
    attempts_made: z.number().int(),
    failed_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime().nullable(),
  })
  .meta({ id: 'FailedJob' });

export type FailedJobView = z.output<typeof failedJobViewSchema>;

function view(queue: string, job: Pick<Job, 'id' | 'name' | 'failedReason' | 'attemptsMade' | 'finishedOn' | 'timestamp'>): FailedJobView {
  return {
    queue,
    id: String(job.id),
    name: job.name,
    failed_reason: job.failedReason ?? '',
    attempts_made: job.attemptsMade,
    failed_at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    created_at: job.timestamp ? new Date(job.timestamp).toISOString() : null,
  };
}

/** Failed jobs (exhausted their retries) across the selected queues, newest first. Job data is not shown: it can carry personal data. */
export async function listFailedJobs(queues: QueueSet, options: { queue?: QueueName; limit: number }): Promise<FailedJobView[]> {
  const selected = options.queue ? [queues.get(options.queue)] : queues.all();
  const all: FailedJobView[] = [];
  for (const queue of selected) {
    const jobs = await queue.getFailed(0, options.limit - 1);
    for (const job of jobs) if (job) all.push(view(queue.name, job as Job));
  }
  return all.sort((a, b) => (b.failed_at ?? '').localeCompare(a.failed_at ?? '')).slice(0, options.limit);
}

/** Moves one failed job back to waiting (its attempts start over). */
export async function retryFailedJob(queues: QueueSet, queueName: string, id: string): Promise<FailedJobView> {
  if (!(QUEUE_NAMES as readonly string[]).includes(queueName)) throw new NotFoundError('queue', queueName);
  const job = await queues.get(queueName as QueueName).getJob(id);
  if (!job) throw new NotFoundError('job', id);
  const state = await job.getState();
  if (state !== 'failed') throw new DomainError('conflict', 'job_not_failed', `Job ${id} is ${state}, not failed.`, { state });
  await job.retry('failed');
  return view(queueName, job);
}

/** Retries every failed job of the selected queues; returns how many per queue. */
export async function retryAllFailedJobs(queues: QueueSet, queue?: QueueName): Promise<Record<string, number>> {
  const selected = queue ? [queues.get(queue)] : queues.all();
  const retried: Record<string, number> = {};
  for (const q of selected) {
    const count = await q.getFailedCount();
    if (count > 0) await q.retryJobs({ state: 'failed', count: 1000 });
    retried[q.name] = count;
  }
  return retried;
}
