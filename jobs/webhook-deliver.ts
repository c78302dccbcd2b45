import { DelayedError, type Job } from 'bullmq';
import { deliverWebhook } from '../src/webhooks/deliveries.ts';
import { defineJob } from './registry.ts';

/** A relay that enqueued and then rolled back retries soon; after this the reconciler takes over. */
export const UNCOMMITTED_GRACE_MS = 60_000;

/** Moves the job to the delayed set (with `data` when it changed), freeing its worker slot meanwhile. */
export async function delayJob<T>(job: Job<T>, waitMs: number, data: T): Promise<never> {
  if (data !== job.data) await job.updateData(data);
  await job.moveToDelayed(Date.now() + waitMs, job.token);
  throw new DelayedError();
}

/** One attempt of one delivery (a retry, or a re-created one). Waiting for the endpoint's pace delays the job. */
export const webhookDeliverJob = defineJob('webhook.deliver', async (job, platform) => {
  const outcome = await deliverWebhook(platform, job.data);
  if (outcome.status === 'deferred') return delayJob(job, outcome.waitMs, job.data);
  if (outcome.status === 'not_yet_relayed' && Date.now() - job.timestamp < UNCOMMITTED_GRACE_MS) return delayJob(job, 1_000, job.data);
  return outcome;
});
