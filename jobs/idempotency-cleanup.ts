import { deleteExpiredIdempotencyKeys } from '../src/redemptions/idempotency-keys.ts';
import { defineJob } from './registry.ts';

/** Scheduled (IDEMPOTENCY_CLEANUP_CRON): deletes redemption Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_SECONDS. */
export const idempotencyCleanupJob = defineJob('idempotency.cleanup', async (_job, platform) => {
  const { config, db, clock } = platform;
  const deleted = await deleteExpiredIdempotencyKeys(db, {
    now: clock.now(),
    ttlSeconds: config.IDEMPOTENCY_KEY_TTL_SECONDS,
    batchSize: 5_000,
  });
  return { deleted };
});
