import { writeImportChunk } from '../src/imports/chunks.ts';
import { parentOf } from '../src/queues/enqueue.ts';
import { defineJob } from './registry.ts';

export const importChunkJob = defineJob('import.chunk', async (job, platform) => {
  const { importId, chunkIndex } = job.data;
  const result = await writeImportChunk(platform.db, importId, chunkIndex, platform.clock.now());
  const parent = result.status === 'written' ? await parentOf(platform.queues, job) : undefined;
  if (parent) {
    // Parent progress for Bull Board: share of rows done (the API reports exact counts).
    const { rows } = await platform.db.query<{ done: number; received: number }>(
      'select imported + rejected as done, received from imports where id = $1',
      [importId],
    );
    const i = rows[0];
    if (i && i.received > 0) await parent.updateProgress(Math.floor((i.done * 100) / i.received)).catch(() => undefined);
  }
  return result;
});
