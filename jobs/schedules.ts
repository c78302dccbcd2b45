import type { Platform } from '../src/platform.ts';
import { JOB_NAMES, type JobName, type QueueName } from '../src/queues/names.ts';

export interface Schedule {
  /** Scheduler id: upserting the same id from every worker process keeps exactly one scheduler. */
  id: string;
  queue: QueueName;
  job: JobName;
  pattern: (platform: Platform) => string;
  tz?: (platform: Platform) => string;
}

export const schedules: Schedule[] = [
  { id: 'generation-recover', queue: 'generation', job: JOB_NAMES.generationRecover, pattern: () => '*/30 * * * * *' },
  { id: 'expiry-sweep', queue: 'maintenance', job: JOB_NAMES.expirySweep, pattern: (p) => p.config.EXPIRY_SWEEP_CRON },
  {
    id: 'report-daily',
    queue: 'maintenance',
    job: JOB_NAMES.reportDaily,
    pattern: (p) => p.config.REPORT_CRON,
    tz: (p) => p.config.REPORT_TIMEZONE,
  },
  { id: 'export-cleanup', queue: 'maintenance', job: JOB_NAMES.exportCleanup, pattern: (p) => p.config.EXPORT_CLEANUP_CRON },
  {
    id: 'idempotency-cleanup',
    queue: 'maintenance',
    job: JOB_NAMES.idempotencyCleanup,
    pattern: (p) => p.config.IDEMPOTENCY_CLEANUP_CRON,
  },
  // Queued deliveries whose job was lost (crash between commit and enqueue) get one again.
  { id: 'delivery-requeue', queue: 'distribution', job: JOB_NAMES.deliveryRequeue, pattern: () => '*/30 * * * * *' },
];

/**
 * Registers every scheduler whose queue this process serves. upsertJobScheduler is idempotent per id (and updates
 * the pattern when the configuration changed), so any number of worker processes leave one scheduler each.
 */
export async function registerSchedules(platform: Platform, served: readonly QueueName[]): Promise<void> {
  for (const schedule of schedules) {
    if (!served.includes(schedule.queue)) continue;
    const tz = schedule.tz?.(platform);
    await platform.queues
      .get(schedule.queue)
      .upsertJobScheduler(
        schedule.id,
        { pattern: schedule.pattern(platform), ...(tz ? { tz } : {}) },
        { name: schedule.job, data: {}, opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
      );
  }
  platform.logger.info({ schedules: schedules.filter((s) => served.includes(s.queue)).map((s) => s.id) }, 'job schedulers registered');
}
