import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per process; /metrics serves it. Label values are bounded sets (never codes or ids). */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const codesGenerated = new Counter({
  name: 'promo_codes_generated_total',
  help: 'Voucher codes written by generation chunks',
  registers: [registry],
});

export const vouchersExpired = new Counter({
  name: 'promo_vouchers_expired_total',
  help: 'Vouchers moved to expired by the expiry sweep',
  registers: [registry],
});

export const validations = new Counter({
  name: 'promo_validations_total',
  help: 'Validations by result (valid/invalid) and reason',
  labelNames: ['result', 'reason'] as const,
  registers: [registry],
});

export const redemptions = new Counter({
  name: 'promo_redemptions_total',
  help: 'Redemption attempts by result (succeeded/refused/rolled_back) and reason',
  labelNames: ['result', 'reason'] as const,
  registers: [registry],
});

export const guessFailures = new Counter({
  name: 'promo_guess_failures_total',
  help: 'Failed lookups that count as guesses (not_found, held by another customer), by campaign when known',
  labelNames: ['campaign_id'] as const,
  registers: [registry],
});

export const validationsWithoutShopper = new Counter({
  name: 'promo_validations_without_shopper_total',
  help: 'Validations with neither the shopper IP header nor a customer, so without a guessing defence, by API key id',
  labelNames: ['api_key'] as const,
  registers: [registry],
});

export const webhookDeliveries = new Counter({
  name: 'promo_webhook_deliveries_total',
  help: 'Webhook delivery attempts by outcome',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const messages = new Counter({
  name: 'promo_messages_total',
  help: 'Emails and SMS by channel and outcome',
  labelNames: ['channel', 'outcome'] as const,
  registers: [registry],
});

export const jobDuration = new Histogram({
  name: 'promo_job_duration_seconds',
  help: 'Job processing time by job name and outcome',
  labelNames: ['name', 'outcome'] as const,
  buckets: [0.005, 0.02, 0.1, 0.5, 1, 2, 5, 15, 60, 300],
  registers: [registry],
});

export const httpDuration = new Histogram({
  name: 'promo_http_request_duration_seconds',
  help: 'HTTP request duration by method, route template and status code',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  registers: [registry],
});

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
