import type { Queryable } from '../db/sql.ts';
import type { QueueSet } from '../queues/queues.ts';
import { enqueueGeneration, type GenerationRow, parentJobId } from './generations.ts';

/**
 * Puts unfinished generations whose flow is missing from Redis back on the queue: the intake could not
 * enqueue (Redis was down after the row committed) or Redis lost its data. Chunks are idempotent, so a
 * flow enqueued again never inserts twice.
 */
export async function requeueLostGenerations(db: Queryable, queues: QueueSet, olderThanMs: number): Promise<string[]> {
  const { rows } = await db.query<GenerationRow>(
    `select * from generations where status in ('queued', 'running') and created_at < now() - make_interval(secs => $1)
     order by created_at limit 100`,
    [olderThanMs / 1000],
  );
  const requeued: string[] = [];
  for (const generation of rows) {
    const parent = await queues.get('generation').getJob(parentJobId(generation.id));
    if (parent) continue;
    await enqueueGeneration(queues, generation);
    requeued.push(generation.id);
  }
  return requeued;
}
