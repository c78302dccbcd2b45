import { queueExpiryReminders } from '../src/expiry/reminders.ts';
import { runExpirySweep } from '../src/expiry/sweep.ts';
import { vouchersExpired } from '../src/shared/metrics.ts';
import { foldAllStatDeltas } from '../src/stats/rollup.ts';
import { defineJob } from './registry.ts';

/** Scheduled (EXPIRY_SWEEP_CRON): expire what is due, queue expiring-soon reminders, fold stat deltas. */
export const expirySweepJob = defineJob('expiry.sweep', async (job, platform) => {
  const { config, db, clock, logger } = platform;
  const now = clock.now();
  let batches = 0;
  const sweep = await runExpirySweep(db, {
    now,
    batchSize: config.EXPIRY_SWEEP_BATCH_SIZE,
    pauseMs: config.EXPIRY_SWEEP_BATCH_PAUSE_MS,
    // Progress shows in Bull Board on long sweeps.
    onBatch: async (expired) => {
      vouchersExpired.inc(expired);
      batches += 1;
      if (batches % 10 === 0) await job.updateProgress({ batches }).catch(() => undefined);
    },
  });
  const reminders = await queueExpiryReminders(db, platform.queues, now, config.EXPIRY_SWEEP_BATCH_SIZE);
  const folded = await foldAllStatDeltas(db);
  if (sweep.vouchersExpired > 0 || sweep.campaignsExpired > 0 || reminders > 0) {
    logger.info({ ...sweep, reminders, folded }, 'expiry sweep');
  }
  return { ...sweep, reminders, folded };
});
