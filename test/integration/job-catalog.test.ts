import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULE_IDS } from '../../src/queues/catalog.ts';
import { enqueue, retireSchedules } from '../../src/queues/enqueue.ts';
import { startTestPlatform, TEST_REDIS, type TestPlatform, waitFor } from '../support/platform.ts';
import { flushPrefix } from '../support/redis-server.ts';

describe('workers and schedules held to the catalogue', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    // Schedules are re-asserted every 10 minutes here: only a reconnect can bring them back within the test.
    p = await startTestPlatform({ api: false, env: { RECONCILE_INTERVAL_MS: '600000', EXPIRY_SWEEP_CRON: '0 0 0 1 1 *' } });
  });
  afterAll(() => p?.destroy());

  it('fails a job whose payload does not match its schema at once, naming the job and the fields, and keeps working', async () => {
    // Straight onto the queue, as an old producer or a hand-written job might: enqueue would not compile this.
    const queue = p.platform.queues.get('exports');
    await queue.add('export.run', { exportId: 42, note: 'x' }, { jobId: 'bad-export', attempts: 5 });
    await waitFor(async () => (await queue.getJobState('bad-export')) === 'failed');
    const failed = await queue.getJob('bad-export');
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toBe(
      'job export.run (bad-export) has an invalid payload: exportId: Invalid input: expected string, received number',
    );

    const fine = await enqueue(p.platform.queues, 'idempotency.cleanup', {});
    await waitFor(async () => (await fine.getState()) === 'completed');
    expect((await p.platform.queues.get('maintenance').getJob(fine.id as string))?.returnvalue).toEqual({ deleted: 0 });
  });

  it('re-asserts every schedule when its Redis connection is ready again', async () => {
    const scheduled = async () =>
      (await Promise.all(['maintenance', 'outbox'].map((q) => p.platform.queues.get(q as 'maintenance').getJobSchedulers())))
        .flat()
        .map((s) => s.key);
    expect((await scheduled()).sort()).toEqual([...SCHEDULE_IDS].sort());
    await flushPrefix(TEST_REDIS, p.config.QUEUE_PREFIX);
    expect(await scheduled()).toEqual([]);
    // A dropped connection (a Redis restart, a failover) reconnects and emits 'ready'.
    p.platform.redis.disconnect(true);
    await waitFor(async () => (await scheduled()).length === SCHEDULE_IDS.length, 10_000);
    expect((await scheduled()).sort()).toEqual([...SCHEDULE_IDS].sort());
  });

  it('removes schedulers the catalogue no longer has (left by an earlier version), and only those', async () => {
    const queue = p.platform.queues.get('generation');
    // What the version before the catalogue registered: its job has no handler any more.
    await queue.upsertJobScheduler('generation-recover', { pattern: '*/30 * * * * *' }, { name: 'generation.recover', data: {} });
    expect(await retireSchedules(p.platform.queues, 'generation')).toEqual(['generation-recover']);
    expect(await queue.getJobSchedulers()).toEqual([]);
    expect(await retireSchedules(p.platform.queues, 'maintenance')).toEqual([]);
    expect((await p.platform.queues.get('maintenance').getJobSchedulers()).map((s) => s.key)).toContain('work-reconcile');
  });
});
