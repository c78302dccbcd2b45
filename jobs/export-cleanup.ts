import { cleanupExpiredExports, requeueStrandedExports } from '../src/exports/exports.ts';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { MaintenancePayload } from '../src/queues/payloads.ts';
import type { JobDefinition } from './registry.ts';

/**
 * Scheduled (EXPORT_CLEANUP_CRON): expires exports older than EXPORT_TTL_SECONDS and removes their files, and
 * re-enqueues exports whose job was lost.
 */
export const exportCleanupJob: JobDefinition<MaintenancePayload> = {
  name: JOB_NAMES.exportCleanup,
  queue: 'maintenance',
  async handle(_job, platform) {
    const { config, db, clock } = platform;
    const expired = await cleanupExpiredExports(db, clock.now(), config.EXPORT_TTL_SECONDS, config.EXPORT_DIR);
    const requeued = await requeueStrandedExports(db, platform.queues, clock.now());
    return { expired, requeued };
  },
};
