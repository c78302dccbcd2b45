import { deliverWebhooks } from '../src/webhooks/deliveries.ts';
import { defineJob } from './registry.ts';
import { delayJob, UNCOMMITTED_GRACE_MS } from './webhook-deliver.ts';

/**
 * First attempts of one endpoint's deliveries. The attempts that must wait (the endpoint's pace, another run's
 * lease, a relay not committed yet) stay in this job, which is delayed with only them; the rest are recorded.
 */
export const webhookDeliverBatchJob = defineJob('webhook.deliver-batch', async (job, platform) => {
  const { endpointId, deliveries, relayedEventId } = job.data;
  const result = await deliverWebhooks(platform, endpointId, deliveries, relayedEventId, { jobId: job.id as string });
  const tally: Record<string, number> = {};
  for (const outcome of result.outcomes.values()) tally[outcome.status] = (tally[outcome.status] ?? 0) + 1;
  if (result.later) {
    const stillRelaying = result.later.attempts.filter((a) => result.outcomes.get(a.deliveryId)?.status === 'not_yet_relayed');
    const expired = Date.now() - job.timestamp >= UNCOMMITTED_GRACE_MS;
    const attempts = expired ? result.later.attempts.filter((a) => !stillRelaying.includes(a)) : result.later.attempts;
    if (attempts.length > 0) return delayJob(job, result.later.waitMs, { ...job.data, deliveries: attempts });
  }
  return { status: 'done', outcomes: tally };
});
