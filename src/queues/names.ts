/** Every BullMQ queue the platform uses. A worker process serves any subset (WORKER_QUEUES). */
export const QUEUE_NAMES = [
  'generation',
  'generation-chunk',
  'delivery-email',
  'delivery-sms',
  'distribution',
  'distribution-chunk',
  'business-events',
  'outbox',
  'webhook',
  'maintenance',
  'exports',
] as const;

export type QueueName = (typeof QUEUE_NAMES)[number];

/** Job names, one handler each (checked at worker start). */
export const JOB_NAMES = {
  generationFinalize: 'generation.finalize',
  generationChunk: 'generation.chunk',
  generationRecover: 'generation.recover',
  deliveryEmail: 'delivery.email',
  deliverySms: 'delivery.sms',
  deliveryRequeue: 'delivery.requeue',
  distributionChunk: 'distribution.chunk',
  distributionFinalize: 'distribution.finalize',
  businessEventProcess: 'business-event.process',
  outboxRelay: 'outbox.relay',
  webhookDeliver: 'webhook.deliver',
  webhookReplay: 'webhook.replay',
  expirySweep: 'expiry.sweep',
  reportDaily: 'report.daily',
  exportRun: 'export.run',
  exportCleanup: 'export.cleanup',
  idempotencyCleanup: 'idempotency.cleanup',
} as const;

export type JobName = (typeof JOB_NAMES)[keyof typeof JOB_NAMES];
