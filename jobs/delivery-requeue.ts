import { requeueStrandedDeliveries } from '../src/delivery/deliveries.ts';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { JobDefinition } from './registry.ts';

/** Safety net: queued deliveries whose job vanished (crash between commit and enqueue) get one again. */
export const deliveryRequeueJob: JobDefinition<Record<string, never>> = {
  name: JOB_NAMES.deliveryRequeue,
  queue: 'distribution',
  async handle(_job, platform) {
    return { requeued: await requeueStrandedDeliveries(platform, platform.config.DELIVERY_SEND_LEASE_MS) };
  },
};
