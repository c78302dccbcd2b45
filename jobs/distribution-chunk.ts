import { processDistributionChunk } from '../src/distributions/distributions.ts';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { DistributionChunkPayload } from '../src/queues/payloads.ts';
import type { JobDefinition } from './registry.ts';

export const distributionChunkJob: JobDefinition<DistributionChunkPayload> = {
  name: JOB_NAMES.distributionChunk,
  queue: 'distribution-chunk',
  async handle(job, platform) {
    const summary = await processDistributionChunk(platform, job.data.distributionId, job.data.chunkIndex);
    if (job.parent?.id) {
      // Parent progress for Bull Board: share of chunks published (the API reports exact counts).
      const parent = await platform.queues.get('distribution').getJob(job.parent.id);
      const { rows } = await platform.db.query<{ done: number; total: number }>(
        `select (select count(*)::int from distribution_chunks where distribution_id = $1) as done, chunk_count as total
         from distributions where id = $1`,
        [job.data.distributionId],
      );
      const r = rows[0];
      if (parent && r && r.total > 0) await parent.updateProgress(Math.floor((r.done * 100) / r.total)).catch(() => undefined);
    }
    return summary;
  },
};
