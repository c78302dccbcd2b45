import { finalizeGeneration } from '../src/generations/chunks.ts';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { GenerationFinalizePayload } from '../src/queues/payloads.ts';
import type { JobDefinition } from './registry.ts';

export const generationFinalizeJob: JobDefinition<GenerationFinalizePayload> = {
  name: JOB_NAMES.generationFinalize,
  queue: 'generation',
  async handle(job, platform) {
    const status = await finalizeGeneration(platform.db, job.data.generationId);
    await job.updateProgress(100);
    return { status };
  },
};
