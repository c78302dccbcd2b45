import { reconcileRound } from '../src/queues/reconcile.ts';
import { defineJob } from './registry.ts';

/** Scheduled every RECONCILE_INTERVAL_MS: re-creates the jobs of durable work that Redis lost (src/queues/reconcile.ts). */
export const workReconcileJob = defineJob('work.reconcile', async (job, platform) => {
  const recreated = await reconcileRound(platform);
  if (recreated === 'busy') return { skipped: 'another round is running' };
  const counts: Record<string, number> = {};
  for (const r of recreated) counts[r.name] = (counts[r.name] ?? 0) + 1;
  if (recreated.length > 0) {
    platform.logger.warn({ jobId: job.id, recreated: counts, jobIds: recreated.slice(0, 20).map((r) => r.jobId) }, 'lost jobs re-created');
  }
  return { recreated: counts };
});
