import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { startRelayDriver } from '../src/outbox/driver.ts';
import type { Platform } from '../src/platform.ts';
import { isJobName, payloadProblem, QUEUE_NAMES, type QueueName, queueSpec } from '../src/queues/catalog.ts';
import { createWorkerConnection, type RedisClient } from '../src/queues/connection.ts';
import { settlesWithin } from '../src/shared/deadline.ts';
import { jobDuration } from '../src/shared/metrics.ts';
import type { JobRegistry } from './registry.ts';
import { keepSchedules } from './schedules.ts';

export interface WorkerPool {
  readonly workers: Worker[];
  /** Settles once this process has first asserted the schedules of the queues it serves. */
  readonly ready: Promise<void>;
  /** Stops taking jobs and waits for the active ones (BullMQ hands unfinished ones back after their lock expires). */
  close(): Promise<void>;
}

/** Which queues this process serves: WORKER_QUEUES is `*` or a comma-separated list. */
export function selectedQueues(setting: string): QueueName[] {
  if (setting.trim() === '*') return [...QUEUE_NAMES];
  const names = setting
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(QUEUE_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`WORKER_QUEUES: unknown queue(s) ${unknown.join(', ')}`);
  return names as QueueName[];
}

export function startWorkers(platform: Platform, registry: JobRegistry, queues: QueueName[]): WorkerPool {
  const { config, logger } = platform;
  // BullMQ leaves a connection it was handed open on close (and without a listener): this pool closes its own.
  const connections: RedisClient[] = [];
  const workers = queues.map((queue) => {
    const connection = createWorkerConnection(config);
    connection.on('error', (error) => logger.debug({ queue, err: error.message }, 'worker redis connection error'));
    connections.push(connection);
    const handlers = registry.get(queue) ?? new Map();
    const worker = new Worker(
      queue,
      async (job: Job) => {
        const definition = handlers.get(job.name);
        if (!definition) throw new UnrecoverableError(`no handler for job ${job.name} on queue ${queue}`);
        // A payload that does not match its schema fails the job for good (retrying cannot fix it), not the process.
        const problem = isJobName(job.name) ? payloadProblem(job.name, job.data) : undefined;
        if (problem) throw new UnrecoverableError(`job ${job.name} (${job.id}) has an invalid payload: ${problem}`);
        const end = jobDuration.startTimer({ name: job.name });
        // Every log line a handler writes carries the job's identity.
        const jobLogger = logger.child({ queue, jobId: job.id, jobName: job.name, attempt: job.attemptsMade + 1 });
        try {
          const result = await definition.handle(job, { ...platform, logger: jobLogger });
          end({ outcome: 'completed' });
          return result;
        } catch (error) {
          end({ outcome: 'failed' });
          throw error;
        }
      },
      {
        connection,
        prefix: platform.queues.prefix,
        concurrency: queueSpec(queue).concurrency(config),
        limiter: queueSpec(queue).limiter?.(config),
        lockDuration: config.WORKER_LOCK_DURATION_MS,
        stalledInterval: config.WORKER_LOCK_DURATION_MS,
        autorun: true,
      },
    );
    worker.on('failed', (job, error) =>
      logger.warn({ queue, jobId: job?.id, jobName: job?.name, attempt: job?.attemptsMade, err: error.message }, 'job failed'),
    );
    worker.on('error', (error) => logger.error({ queue, err: error.message }, 'worker error'));
    return worker;
  });
  const schedules = keepSchedules(platform, queues);
  // Every process that serves the outbox wakes the relay on commit and when Redis comes back (src/outbox/driver.ts).
  const relayDriver = queues.includes('outbox') ? startRelayDriver(platform) : undefined;
  logger.info({ queues }, 'workers started');
  return {
    workers,
    ready: schedules.ready,
    async close() {
      schedules.close();
      await relayDriver?.close();
      // Running jobs get WORKER_SHUTDOWN_GRACE_MS to finish; one that has not by then is left to run again elsewhere
      // (its lock expires; every job is idempotent), and its worker's connection is cut so the close can end.
      const open = new Set(workers.map((w) => w.name));
      const closing = workers.map((w) => w.close().then(() => open.delete(w.name)));
      if (!(await settlesWithin(Promise.all(closing), config.WORKER_SHUTDOWN_GRACE_MS))) {
        const stuck = [...open];
        logger.warn(
          { queues: stuck, graceMs: config.WORKER_SHUTDOWN_GRACE_MS },
          'workers still busy at the end of the shutdown grace: leaving their jobs to be retried',
        );
        for (const connection of connections) connection.disconnect();
        await settlesWithin(Promise.allSettled(closing), 2_000);
      }
      for (const connection of connections) connection.disconnect();
    },
  };
}
