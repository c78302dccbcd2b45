import { DelayedError, type Job } from 'bullmq';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { WebhookDeliverPayload } from '../src/queues/payloads.ts';
import { deliverWebhook } from '../src/webhooks/deliveries.ts';
import type { JobDefinition } from './registry.ts';

/** A relay that enqueued and then rolled back retries soon; after this the lost-job sweeper takes over. */
const UNCOMMITTED_GRACE_MS = 60_000;

async function delay(job: Job<WebhookDeliverPayload>, waitMs: number, data: WebhookDeliverPayload): Promise<never> {
  if (data !== job.data) await job.updateData(data);
  await job.moveToDelayed(Date.now() + waitMs, job.token);
  throw new DelayedError();
}

/** One attempt of one delivery. Waiting for the endpoint's pace moves the job to the delayed set, freeing the slot. */
export const webhookDeliverJob: JobDefinition<WebhookDeliverPayload> = {
  name: JOB_NAMES.webhookDeliver,
  queue: 'webhook',
  async handle(job, platform) {
    const outcome = await deliverWebhook(platform, job.data, { slotAt: job.data.slotAt });
    if (outcome.status === 'deferred') return delay(job, outcome.waitMs, { ...job.data, slotAt: outcome.slotAt });
    if (outcome.status === 'not_yet_relayed' && Date.now() - job.timestamp < UNCOMMITTED_GRACE_MS) return delay(job, 1_000, job.data);
    return outcome;
  },
};
