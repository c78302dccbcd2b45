import { cleanupExpiredExports } from '../src/exports/exports.ts';
import { defineJob } from './registry.ts';

/** Scheduled (EXPORT_CLEANUP_CRON): expires exports older than EXPORT_TTL_SECONDS and removes their files. */
export const exportCleanupJob = defineJob('export.cleanup', async (_job, platform) => {
  const { config, db, clock } = platform;
  return { expired: await cleanupExpiredExports(db, clock.now(), config.EXPORT_TTL_SECONDS, config.EXPORT_DIR) };
});
