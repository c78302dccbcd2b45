import { finalizeDistribution } from '../src/distributions/distributions.ts';
import { defineJob } from './registry.ts';

export const distributionFinalizeJob = defineJob('distribution.finalize', async (job, platform) => {
  const status = await finalizeDistribution(platform, job.data.distributionId);
  await job.updateProgress(100);
  return { status };
});
