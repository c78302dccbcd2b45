import { DelayedError, type Job } from 'bullmq';
import type { JobPayload } from '../src/queues/catalog.ts';
import { deliverWebhook } from '../src/webhooks/deliveries.ts';
import { defineJob } from './registry.ts';

type Attempt = JobPayload<'webhook.deliver'>;

/** A relay that enqueued and then rolled back retries soon; after this the reconciler takes over. */
const UNCOMMITTED_GRACE_MS = 60_000;

async function delay(job: Job<Attempt>, waitMs: number, data: Attempt): Promise<never> {
  if (data !== job.data) await job.updateData(data);
  await job.moveToDelayed(Date.now() + waitMs, job.token);
  throw new DelayedError();
}

/** One attempt of one delivery. Waiting for the endpoint's pace moves the job to the delayed set, freeing the slot. */
export const webhookDeliverJob = defineJob('webhook.deliver', async (job, platform) => {
  const outcome = await deliverWebhook(platform, job.data, { slotAt: job.data.slotAt });
  if (outcome.status === 'deferred') return delay(job, outcome.waitMs, { ...job.data, slotAt: outcome.slotAt });
  if (outcome.status === 'not_yet_relayed' && Date.now() - job.timestamp < UNCOMMITTED_GRACE_MS) return delay(job, 1_000, job.data);
  return outcome;
});
