import { expireReservations } from '../src/reservations/reservations.ts';
import { defineJob } from './registry.ts';

/** One reservation's expiry at its expires_at (idempotent: a reservation no longer held, or not yet due, is left alone). */
export const reservationExpireJob = defineJob('reservation.expire', async (job, platform) => {
  const expired = await expireReservations(platform.db, platform.clock.now(), { batchSize: 1, ids: [job.data.reservationId] });
  return { expired };
});

/** Scheduled (RESERVATION_SWEEP_INTERVAL_MS): every held reservation past its expires_at, in SKIP LOCKED batches. */
export const reservationsSweepJob = defineJob('reservations.sweep', async (_job, platform) => {
  const expired = await expireReservations(platform.db, platform.clock.now(), { batchSize: platform.config.RESERVATION_SWEEP_BATCH_SIZE });
  if (expired > 0) platform.logger.info({ expired }, 'reservations expired');
  return { expired };
});
