import type { Job } from 'bullmq';
import { sendDelivery } from '../src/delivery/deliveries.ts';
import type { Platform } from '../src/platform.ts';
import { defineJob } from './registry.ts';

async function send(job: Job<{ deliveryId: string }>, platform: Platform) {
  return { result: await sendDelivery(platform, job.data.deliveryId, { number: job.attemptsMade + 1, max: job.opts.attempts ?? 1 }) };
}

/** One message; a queue per channel so each provider has its own BullMQ rate limiter. */
export const deliveryEmailJob = defineJob('delivery.email', send);
export const deliverySmsJob = defineJob('delivery.sms', send);
