import { failExport, runExport } from '../src/exports/exports.ts';
import { defineJob } from './registry.ts';

/** Writes one export's file; the last failed attempt marks the export failed. */
export const exportRunJob = defineJob('export.run', async (job, platform) => {
  const { config, db, clock } = platform;
  try {
    const status = await runExport(db, job.data.exportId, {
      dir: config.EXPORT_DIR,
      batchSize: config.EXPORT_BATCH_SIZE,
      ttlSeconds: config.EXPORT_TTL_SECONDS,
      now: () => clock.now(),
      onProgress: (exported, total) => job.updateProgress(total ? Math.floor((exported * 100) / total) : 0).catch(() => undefined),
    });
    return { status };
  } catch (error) {
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      await failExport(db, job.data.exportId, config.EXPORT_DIR, (error as Error).message);
    }
    throw error;
  }
});
