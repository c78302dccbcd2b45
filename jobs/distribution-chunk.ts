import { processDistributionChunk } from '../src/distributions/distributions.ts';
import { reportParentProgress } from '../src/queues/enqueue.ts';
import { defineJob } from './registry.ts';

export const distributionChunkJob = defineJob('distribution.chunk', async (job, platform) => {
  const summary = await processDistributionChunk(platform, job.data.distributionId, job.data.chunkIndex);
  // Share of chunks published.
  await reportParentProgress(platform.queues, job, async () => {
    const { rows } = await platform.db.query<{ done: number; total: number }>(
      `select (select count(*)::int from distribution_chunks where distribution_id = $1) as done, chunk_count as total
       from distributions where id = $1`,
      [job.data.distributionId],
    );
    return rows[0];
  });
  return summary;
});
