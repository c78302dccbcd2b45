import { finalizeImport } from '../src/imports/chunks.ts';
import { defineJob } from './registry.ts';

export const importFinalizeJob = defineJob('import.finalize', async (job, platform) => {
  const status = await finalizeImport(platform.db, job.data.importId);
  await job.updateProgress(100);
  return { status };
});
