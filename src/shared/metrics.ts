import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** One registry per process; /metrics serves it. Label values are bounded sets (never codes or ids). */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const codesGenerated = new Counter({
  name: 'promo_codes_generated_total',
  help: 'Voucher codes written by generation chunks',
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
