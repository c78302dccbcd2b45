import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { startRelayDriver } from '../src/outbox/driver.ts';
import type { Platform } from '../src/platform.ts';
import { createWorkerConnection } from '../src/queues/connection.ts';
import { QUEUE_NAMES, type QueueName } from '../src/queues/names.ts';
import { jobDuration } from '../src/shared/metrics.ts';
import type { JobRegistry } from './registry.ts';

export interface WorkerPool {
  readonly workers: Worker[];
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

function concurrencyFor(queue: QueueName, platform: Platform): number {
  if (queue === 'delivery-email' || queue === 'delivery-sms') return platform.config.DELIVERY_CONCURRENCY;
  // Deliveries wait on receivers, not on CPU: many at once (WEBHOOK_DELIVERY_CONCURRENCY).
  if (queue === 'webhook') return platform.config.WEBHOOK_DELIVERY_CONCURRENCY;
  // Exports are long sequential scans: a few at a time (EXPORT_CONCURRENCY) so they never starve the pool.
  if (queue === 'exports') return platform.config.EXPORT_CONCURRENCY;
  return queue === 'generation-chunk' ? platform.config.GENERATION_CONCURRENCY : platform.config.WORKER_CONCURRENCY;
}

/** Per-provider send rates: BullMQ's limiter counts jobs across every worker of the queue. */
function limiterFor(queue: QueueName, platform: Platform): { max: number; duration: number } | undefined {
  const c = platform.config;
  if (queue === 'delivery-email') return { max: c.EMAIL_RATE_MAX, duration: c.EMAIL_RATE_DURATION_MS };
  if (queue === 'delivery-sms') return { max: c.SMS_RATE_MAX, duration: c.SMS_RATE_DURATION_MS };
  return undefined;
}

export function startWorkers(platform: Platform, registry: JobRegistry, queues: QueueName[]): WorkerPool {
  const { config, logger } = platform;
  const workers = queues.map((queue) => {
    const handlers = registry.get(queue) ?? new Map();
    const worker = new Worker(
      queue,
      async (job: Job) => {
        const definition = handlers.get(job.name);
        if (!definition) throw new UnrecoverableError(`no handler for job ${job.name} on queue ${queue}`);
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
        connection: createWorkerConnection(config),
        prefix: platform.queues.prefix,
        concurrency: concurrencyFor(queue, platform),
        limiter: limiterFor(queue, platform),
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
  // The outbox relay is scheduled by every process that serves its queue (src/outbox/driver.ts).
  const relayDriver = queues.includes('outbox') ? startRelayDriver(platform) : undefined;
  logger.info({ queues }, 'workers started');
  return {
    workers,
    async close() {
      await relayDriver?.close();
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
