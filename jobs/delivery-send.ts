import { sendDelivery } from '../src/delivery/deliveries.ts';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { DeliverySendPayload } from '../src/queues/payloads.ts';
import type { JobDefinition } from './registry.ts';

/** One message; queue per channel so each provider has its own BullMQ rate limiter. */
export const deliveryEmailJob: JobDefinition<DeliverySendPayload> = {
  name: JOB_NAMES.deliveryEmail,
  queue: 'delivery-email',
  async handle(job, platform) {
    return { result: await sendDelivery(platform, job.data.deliveryId, { number: job.attemptsMade + 1, max: job.opts.attempts ?? 1 }) };
  },
};

export const deliverySmsJob: JobDefinition<DeliverySendPayload> = {
  name: JOB_NAMES.deliverySms,
  queue: 'delivery-sms',
  async handle(job, platform) {
    return { result: await sendDelivery(platform, job.data.deliveryId, { number: job.attemptsMade + 1, max: job.opts.attempts ?? 1 }) };
  },
};
