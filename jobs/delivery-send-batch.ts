import { DelayedError, type Job } from 'bullmq';
import { sendDeliveries } from '../src/delivery/deliveries.ts';
import type { Platform } from '../src/platform.ts';
import { defineJob } from './registry.ts';

/** First attempts of a batch of one channel's messages; those the provider's rate holds back wait in this job. */
function sendBatch(channel: 'email' | 'sms') {
  return async (job: Job<{ deliveryIds: string[] }>, platform: Platform) => {
    const { results, later } = await sendDeliveries(platform, channel, job.data.deliveryIds);
    if (later) {
      await job.updateData({ deliveryIds: later.deliveryIds });
      await job.moveToDelayed(Date.now() + later.waitMs, job.token);
      throw new DelayedError();
    }
    const tally: Record<string, number> = {};
    for (const result of results.values()) tally[result] = (tally[result] ?? 0) + 1;
    return { results: tally };
  };
}

export const deliveryEmailBatchJob = defineJob('delivery.email-batch', sendBatch('email'));
export const deliverySmsBatchJob = defineJob('delivery.sms-batch', sendBatch('sms'));
