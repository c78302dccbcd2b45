import { processDistributionChunk } from '../src/distributions/distributions.ts';
import { parentOf } from '../src/queues/enqueue.ts';
import { defineJob } from './registry.ts';

export const distributionChunkJob = defineJob('distribution.chunk', async (job, platform) => {
  const summary = await processDistributionChunk(platform, job.data.distributionId, job.data.chunkIndex);
  const parent = await parentOf(platform.queues, job);
  if (parent) {
    // Parent progress for Bull Board: share of chunks published (the API reports exact counts).
    const { rows } = await platform.db.query<{ done: number; total: number }>(
      `select (select count(*)::int from distribution_chunks where distribution_id = $1) as done, chunk_count as total
       from distributions where id = $1`,
      [job.data.distributionId],
    );
    const r = rows[0];
    if (r && r.total > 0) await parent.updateProgress(Math.floor((r.done * 100) / r.total)).catch(() => undefined);
  }
  return summary;
});
