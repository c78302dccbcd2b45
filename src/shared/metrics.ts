import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per process; /metrics serves it. Label values are bounded sets (never codes or ids). */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

function counter<const L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function histogram<const L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

export const codesGenerated = counter('promo_codes_generated_total', 'Voucher codes written by generation chunks');

export const vouchersExpired = counter('promo_vouchers_expired_total', 'Vouchers moved to expired by the expiry sweep');

export const validations = counter('promo_validations_total', 'Validations by result (valid/invalid) and reason', ['result', 'reason']);

export const redemptions = counter('promo_redemptions_total', 'Redemption attempts by result (succeeded/refused/rolled_back) and reason', [
  'result',
  'reason',
]);

export const redemptionBatchItems = counter(
  'promo_redemption_batch_items_total',
  'Single-code redemptions that met others in a batch, by how they were answered (batch: in its transaction; alone: one by one)',
  ['answered'],
);

export const redemptionBatches = counter(
  'promo_redemption_batches_total',
  'Batch transactions of redemptions by outcome (committed/failed)',
  ['outcome'],
);

export const guessFailures = counter(
  'promo_guess_failures_total',
  'Failed lookups that count as guesses (not_found, held by another customer), by campaign when known',
  ['campaign_id'],
);

export const validationsWithoutShopper = counter(
  'promo_validations_without_shopper_total',
  'Validations with neither the shopper IP header nor a customer, so without a guessing defence, by API key id',
  ['api_key'],
);

export const webhookDeliveries = counter('promo_webhook_deliveries_total', 'Webhook delivery attempts by outcome', ['outcome']);

export const messages = counter('promo_messages_total', 'Emails and SMS by channel and outcome', ['channel', 'outcome']);

export const jobDuration = histogram(
  'promo_job_duration_seconds',
  'Job processing time by job name and outcome',
  ['name', 'outcome'],
  [0.005, 0.02, 0.1, 0.5, 1, 2, 5, 15, 60, 300],
);

export const httpDuration = histogram(
  'promo_http_request_duration_seconds',
  'HTTP request duration by method, route template and status code',
  ['method', 'route', 'status'],
  [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
);

/** Anything that can list the platform's queues (a QueueSet); kept structural so this module imports nothing. */
export interface QueueSource {
  all(): { name: string; getJobCounts(...types: string[]): Promise<Record<string, number>> }[];
}

const queueSources = new Set<QueueSource>();
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized', 'waiting-children'] as const;

/** Queue depths are read from Redis when Prometheus scrapes, so they are never stale and cost nothing between scrapes. */
export function registerQueueSource(source: QueueSource): () => void {
  queueSources.add(source);
  return () => queueSources.delete(source);
}

export const queueJobs = new Gauge({
  name: 'promo_queue_jobs',
  help: 'Jobs per queue and state (waiting, active, delayed, failed, prioritized, waiting-children), read at scrape time',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const source of queueSources) {
      for (const queue of source.all()) {
        const counts = await Promise.race([
          queue.getJobCounts(...QUEUE_STATES),
          new Promise<null>((resolve) => setTimeout(() => resolve(null), 2_000).unref()),
        ]).catch(() => null);
        if (!counts) continue;
        for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
    }
  },
});
