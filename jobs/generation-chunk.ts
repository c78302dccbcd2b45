import { writeGenerationChunk } from '../src/generations/chunks.ts';
import { reportParentProgress } from '../src/queues/enqueue.ts';
import { codesGenerated } from '../src/shared/metrics.ts';
import { defineJob } from './registry.ts';

export const generationChunkJob = defineJob('generation.chunk', async (job, platform) => {
  const { generationId, chunkIndex, size } = job.data;
  const result = await writeGenerationChunk(platform.db, generationId, chunkIndex, size);
  if (result.status === 'written') {
    codesGenerated.inc(result.inserted);
    await reportParentProgress(platform.queues, job, async () => {
      const { rows } = await platform.db.query<{ done: number; total: number }>(
        'select generated as done, requested as total from generations where id = $1',
        [generationId],
      );
      return rows[0];
    });
  }
  return result;
});
