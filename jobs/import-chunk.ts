import { writeImportChunk } from '../src/imports/chunks.ts';
import { importProgress } from '../src/imports/imports.ts';
import { reportParentProgress } from '../src/queues/enqueue.ts';
import { defineJob } from './registry.ts';

export const importChunkJob = defineJob('import.chunk', async (job, platform) => {
  const { importId, chunkIndex } = job.data;
  const result = await writeImportChunk(platform.db, importId, chunkIndex, platform.clock.now());
  if (result.status === 'written') {
    await reportParentProgress(platform.queues, job, () => importProgress(platform.db, importId));
  }
  return result;
});
