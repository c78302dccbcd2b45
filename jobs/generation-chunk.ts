import { writeGenerationChunk } from '../src/generations/chunks.ts';
import { generationProgress } from '../src/generations/generations.ts';
import { reportParentProgress } from '../src/queues/enqueue.ts';
import { codesGenerated } from '../src/shared/metrics.ts';
import { defineJob } from './registry.ts';

export const generationChunkJob = defineJob('generation.chunk', async (job, platform) => {
  const { generationId, chunkIndex, size } = job.data;
  const result = await writeGenerationChunk(platform.db, generationId, chunkIndex, size);
  if (result.status === 'written') {
    codesGenerated.inc(result.inserted);
    await reportParentProgress(platform.queues, job, () => generationProgress(platform.db, generationId));
  }
  return result;
});
