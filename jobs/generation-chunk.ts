import { writeGenerationChunk } from '../src/generations/chunks.ts';
import { parentOf } from '../src/queues/enqueue.ts';
import { codesGenerated } from '../src/shared/metrics.ts';
import { defineJob } from './registry.ts';

export const generationChunkJob = defineJob('generation.chunk', async (job, platform) => {
  const { generationId, chunkIndex, size } = job.data;
  const result = await writeGenerationChunk(platform.db, generationId, chunkIndex, size);
  if (result.status === 'written') codesGenerated.inc(result.inserted);
  const parent = result.status === 'written' ? await parentOf(platform.queues, job) : undefined;
  if (parent) {
    // Parent progress for Bull Board: share of chunks done (the API reports exact counts).
    const { rows } = await platform.db.query<{ generated: number; requested: number }>(
      'select generated, requested from generations where id = $1',
      [generationId],
    );
    const g = rows[0];
    if (g) await parent.updateProgress(Math.floor((g.generated * 100) / g.requested)).catch(() => undefined);
  }
  return result;
});
