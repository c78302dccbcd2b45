import { finalizeGeneration } from '../src/generations/chunks.ts';
import { defineJob } from './registry.ts';

export const generationFinalizeJob = defineJob('generation.finalize', async (job, platform) => {
  const status = await finalizeGeneration(platform.db, job.data.generationId);
  await job.updateProgress(100);
  return { status };
});
