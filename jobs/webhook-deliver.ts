import { DelayedError } from 'bullmq';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { WebhookDeliverPayload } from '../src/queues/payloads.ts';
import { deliverWebhook } from '../src/webhooks/deliveries.ts';
import type { JobDefinition } from './registry.ts';

/** One attempt of one delivery. Waiting for the endpoint's pace moves the job to the delayed set, freeing the slot. */
export const webhookDeliverJob: JobDefinition<WebhookDeliverPayload> = {
  name: JOB_NAMES.webhookDeliver,
  queue: 'webhook',
  async handle(job, platform) {
    const outcome = await deliverWebhook(platform, job.data, { slotAt: job.data.slotAt });
    if (outcome.status === 'deferred') {
      await job.updateData({ ...job.data, slotAt: outcome.slotAt });
      await job.moveToDelayed(Date.now() + outcome.waitMs, job.token);
      throw new DelayedError();
    }
    return outcome;
  },
};
