import { writeGenerationChunk } from '../src/generations/chunks.ts';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { GenerationChunkPayload } from '../src/queues/payloads.ts';
import { codesGenerated } from '../src/shared/metrics.ts';
import type { JobDefinition } from './registry.ts';

export const generationChunkJob: JobDefinition<GenerationChunkPayload> = {
  name: JOB_NAMES.generationChunk,
  queue: 'generation-chunk',
  async handle(job, platform) {
    const { generationId, chunkIndex, size } = job.data;
    const result = await writeGenerationChunk(platform.db, generationId, chunkIndex, size);
    if (result.status === 'written') codesGenerated.inc(result.inserted);
    if (result.status === 'written' && job.parent) {
      // Parent progress for Bull Board: share of chunks done (the API reports exact counts).
      const parent = job.parent.id ? await platform.queues.get('generation').getJob(job.parent.id) : undefined;
      const { rows } = await platform.db.query<{ generated: number; requested: number }>(
        'select generated, requested from generations where id = $1',
        [generationId],
      );
      const g = rows[0];
      if (parent && g) await parent.updateProgress(Math.floor((g.generated * 100) / g.requested)).catch(() => undefined);
    }
    return result;
  },
};
