import { writeImportChunk } from '../src/imports/chunks.ts';
import { reportParentProgress } from '../src/queues/enqueue.ts';
import { defineJob } from './registry.ts';

export const importChunkJob = defineJob('import.chunk', async (job, platform) => {
  const { importId, chunkIndex } = job.data;
  const result = await writeImportChunk(platform.db, importId, chunkIndex, platform.clock.now());
  if (result.status === 'written') {
    await reportParentProgress(platform.queues, job, async () => {
      const { rows } = await platform.db.query<{ done: number; total: number }>(
        'select imported + rejected as done, received as total from imports where id = $1',
        [importId],
      );
      return rows[0];
    });
  }
  return result;
});
