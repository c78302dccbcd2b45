import { businessEventProcessJob } from './business-event-process.ts';
import { deliveryRequeueJob } from './delivery-requeue.ts';
import { deliveryEmailJob, deliverySmsJob } from './delivery-send.ts';
import { distributionChunkJob } from './distribution-chunk.ts';
import { distributionFinalizeJob } from './distribution-finalize.ts';
import { expirySweepJob } from './expiry-sweep.ts';
import { exportCleanupJob } from './export-cleanup.ts';
import { exportRunJob } from './export-run.ts';
import { generationChunkJob } from './generation-chunk.ts';
import { generationFinalizeJob } from './generation-finalize.ts';
import { generationRecoverJob } from './generation-recover.ts';
import { idempotencyCleanupJob } from './idempotency-cleanup.ts';
import { outboxRelayJob } from './outbox-relay.ts';
import type { JobDefinition } from './registry.ts';
import { reportDailyJob } from './report-daily.ts';
import { webhookDeliverJob } from './webhook-deliver.ts';
import { webhookReplayJob } from './webhook-replay.ts';

/** Every job the platform runs. Add a job here and its name to src/queues/names.ts. */
export const jobDefinitions: JobDefinition<any>[] = [
  generationChunkJob,
  generationFinalizeJob,
  generationRecoverJob,
  deliveryEmailJob,
  deliverySmsJob,
  deliveryRequeueJob,
  distributionChunkJob,
  distributionFinalizeJob,
  businessEventProcessJob,
  outboxRelayJob,
  webhookDeliverJob,
  webhookReplayJob,
  expirySweepJob,
  reportDailyJob,
  exportRunJob,
  exportCleanupJob,
  idempotencyCleanupJob,
];
