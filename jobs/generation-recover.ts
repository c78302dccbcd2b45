import { requeueLostGenerations } from '../src/generations/recovery.ts';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { JobDefinition } from './registry.ts';

/** Every 30 s: unfinished generations older than 30 s whose flow is not in Redis are enqueued again. */
export const generationRecoverJob: JobDefinition = {
  name: JOB_NAMES.generationRecover,
  queue: 'generation',
  async handle(job, platform) {
    const requeued = await requeueLostGenerations(platform.db, platform.queues, 30_000);
    if (requeued.length > 0) platform.logger.warn({ jobId: job.id, requeued }, 'generations re-enqueued');
    return { requeued };
  },
};
