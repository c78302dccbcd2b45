import { finalizeDistribution } from '../src/distributions/distributions.ts';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { DistributionFinalizePayload } from '../src/queues/payloads.ts';
import type { JobDefinition } from './registry.ts';

export const distributionFinalizeJob: JobDefinition<DistributionFinalizePayload> = {
  name: JOB_NAMES.distributionFinalize,
  queue: 'distribution',
  async handle(job, platform) {
    const status = await finalizeDistribution(platform, job.data.distributionId);
    await job.updateProgress(100);
    return { status };
  },
};
