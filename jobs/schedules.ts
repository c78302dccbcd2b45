import type { Platform } from '../src/platform.ts';
import { type QueueName, queueOf, SCHEDULE_IDS, scheduleOf } from '../src/queues/catalog.ts';
import { assertSchedule, retireSchedules } from '../src/queues/enqueue.ts';

export interface ScheduleKeeper {
  /** Settles after the first attempt to assert every schedule (it logs and retries when Redis is away). */
  readonly ready: Promise<void>;
  close(): void;
}

/**
 * Keeps the catalogue's schedules that run on the queues this process serves: upserted at start, every
 * RECONCILE_INTERVAL_MS, and whenever the Redis connection becomes ready again. Upserting an id is idempotent (and
 * applies a changed configuration), so any number of worker processes leave one scheduler each, and a Redis that
 * lost its data (a restart, a failover to an empty replica, a FLUSHDB) gets them back without restarting anything.
 */
export function keepSchedules(platform: Platform, served: readonly QueueName[]): ScheduleKeeper {
  const { logger, redis, config } = platform;
  const ids = SCHEDULE_IDS.filter((id) => served.includes(queueOf(scheduleOf(id).job)));
  let closed = false;
  let registered = false;

  const assertAll = async () => {
    if (closed || ids.length === 0) return;
    const results = await Promise.allSettled(ids.map((id) => assertSchedule(platform.queues, id)));
    const failed = ids.filter((_, i) => results[i]?.status === 'rejected');
    if (failed.length > 0) {
      const reason = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      logger.warn({ schedules: failed, err: (reason.reason as Error).message }, 'job schedulers not asserted; retrying');
    } else if (!registered) {
      registered = true;
      logger.info({ schedules: ids }, 'job schedulers registered');
    }
  };

  const retire = async () => {
    try {
      const retired = (await Promise.all(served.map((queue) => retireSchedules(platform.queues, queue)))).flat();
      if (retired.length > 0) logger.info({ schedules: retired }, 'job schedulers the catalogue no longer has removed');
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'stale job schedulers not checked');
    }
  };

  const onReady = () => void assertAll();
  redis.on('ready', onReady);
  const timer = setInterval(onReady, config.RECONCILE_INTERVAL_MS);
  timer.unref();
  return {
    ready: Promise.all([retire(), assertAll()]).then(() => undefined),
    close() {
      closed = true;
      clearInterval(timer);
      redis.off('ready', onReady);
    },
  };
}
