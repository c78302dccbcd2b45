import { businessEventProcessJob } from './business-event-process.ts';
import { deliveryEmailJob, deliverySmsJob } from './delivery-send.ts';
import { deliveryEmailBatchJob, deliverySmsBatchJob } from './delivery-send-batch.ts';
import { distributionChunkJob } from './distribution-chunk.ts';
import { distributionFinalizeJob } from './distribution-finalize.ts';
import { expirySweepJob } from './expiry-sweep.ts';
import { exportCleanupJob } from './export-cleanup.ts';
import { exportRunJob } from './export-run.ts';
import { generationChunkJob } from './generation-chunk.ts';
import { generationFinalizeJob } from './generation-finalize.ts';
import { idempotencyCleanupJob } from './idempotency-cleanup.ts';
import { importChunkJob } from './import-chunk.ts';
import { importFinalizeJob } from './import-finalize.ts';
import { outboxRelayJob } from './outbox-relay.ts';
import type { AnyJobDefinition } from './registry.ts';
import { reportDailyJob } from './report-daily.ts';
import { reservationExpireJob, reservationsSweepJob } from './reservation-expire.ts';
import { webhookDeliverJob } from './webhook-deliver.ts';
import { webhookDeliverBatchJob } from './webhook-deliver-batch.ts';
import { webhookReplayJob } from './webhook-replay.ts';
import { workReconcileJob } from './work-reconcile.ts';

/** Every job's handler, one per name in src/queues/catalog.ts (buildRegistry refuses to start otherwise). */
export const jobDefinitions: AnyJobDefinition[] = [
  generationChunkJob,
  generationFinalizeJob,
  deliveryEmailJob,
  deliverySmsJob,
  deliveryEmailBatchJob,
  deliverySmsBatchJob,
  distributionChunkJob,
  distributionFinalizeJob,
  businessEventProcessJob,
  outboxRelayJob,
  webhookDeliverJob,
  webhookDeliverBatchJob,
  webhookReplayJob,
  expirySweepJob,
  reportDailyJob,
  exportRunJob,
  exportCleanupJob,
  importChunkJob,
  importFinalizeJob,
  idempotencyCleanupJob,
  reservationExpireJob,
  reservationsSweepJob,
  workReconcileJob,
];
