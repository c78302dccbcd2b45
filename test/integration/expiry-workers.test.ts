import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnEntrypoint, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { expiryConsistency, seedVouchers } from './expiry-fixtures.ts';

/** Real worker processes (src/main/worker.ts), as an operator runs them: scheduling and SIGKILL mid-sweep. */
describe('expiry sweep in worker processes', () => {
  let p: TestPlatform;
  const children: ChildProcess[] = [];
  const past = new Date(Date.now() - 3_600_000);

  beforeAll(async () => {
    p = await startTestPlatform({ workers: false });
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
    }
  });
  afterAll(async () => {
    await p?.destroy();
  });

  function worker(env: Record<string, string>): { child: ChildProcess; registered: Promise<void> } {
    const child = spawnEntrypoint('worker', p.isolation, { LOG_LEVEL: 'info', WORKER_QUEUES: 'maintenance', ...env });
    children.push(child);
    const registered = new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('job schedulers registered')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
    });
    return { child, registered };
  }

  async function campaign(name: string): Promise<string> {
    const created = await p.call('/v1/campaigns', { method: 'POST', json: { name } });
    return created.body.id;
  }

  it('registers the sweep scheduler once however many workers start, and one job runs per tick', async () => {
    const c = await campaign('two-workers');
    await seedVouchers(p.platform.db, c, 3_000, { prefix: 'TW', expirationDate: past });
    const env = { EXPIRY_SWEEP_CRON: '*/2 * * * * *', EXPIRY_SWEEP_BATCH_SIZE: '500' };
    const a = worker(env);
    const b = worker(env);
    await Promise.all([a.registered, b.registered]);

    const queue = p.platform.queues.get('maintenance');
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers.filter((s) => s.key === 'expiry-sweep' || s.id === 'expiry-sweep')).toHaveLength(1);
    expect(schedulers.find((s) => s.key === 'expiry-sweep' || s.id === 'expiry-sweep')?.pattern).toBe('*/2 * * * * *');
    const ids = schedulers.map((s) => s.key ?? s.id);
    for (const id of ['expiry-sweep', 'report-daily', 'export-cleanup']) expect(ids.filter((x) => x === id)).toHaveLength(1);

    await waitFor(async () => (await expiryConsistency(p.platform.db, c)).expired === 3_000);
    // Let a few more ticks pass with both workers competing, then check no tick ran twice.
    const ticks = async () => (await queue.getJobs(['completed'], 0, 1000)).filter((j) => j.name === 'expiry.sweep');
    await waitFor(async () => (await ticks()).length >= 3);
    const done = await ticks();
    const millis = done.map((j) => j.id?.split(':').at(-1));
    expect(new Set(millis).size).toBe(done.length);
    expect(await expiryConsistency(p.platform.db, c)).toMatchObject({ expired: 3_000, bad: 0 });
  });

  it('a sweep killed mid-way leaves each voucher expired with its events or untouched; the next run finishes', async () => {
    const c = await campaign('killed');
    const total = 20_000;
    await seedVouchers(p.platform.db, c, total, { prefix: 'KL', expirationDate: past });
    const slow = worker({ EXPIRY_SWEEP_CRON: '*/2 * * * * *', EXPIRY_SWEEP_BATCH_SIZE: '200', EXPIRY_SWEEP_BATCH_PAUSE_MS: '50' });
    await slow.registered;
    const expiredCount = async () =>
      Number(
        (await p.platform.db.query(`select count(*) as n from vouchers where campaign_id = $1 and status = 'expired'`, [c])).rows[0]?.n,
      );
    await waitFor(async () => (await expiredCount()) >= 2_000, 60_000, 20);
    slow.child.kill('SIGKILL');
    await new Promise((r) => slow.child.once('exit', r));

    const cut = await expiryConsistency(p.platform.db, c);
    expect(cut.bad).toBe(0);
    expect(cut.expired).toBeGreaterThanOrEqual(2_000);
    expect(cut.expired).toBeLessThan(total);
    expect(cut.expired + cut.active).toBe(total);

    // A fresh worker (the stalled job, or the next tick) finishes the sweep.
    const next = worker({ EXPIRY_SWEEP_CRON: '*/2 * * * * *', EXPIRY_SWEEP_BATCH_SIZE: '2000', WORKER_LOCK_DURATION_MS: '2000' });
    await next.registered;
    await waitFor(async () => (await expiryConsistency(p.platform.db, c)).expired === total, 60_000, 200);
    expect(await expiryConsistency(p.platform.db, c)).toEqual({ expired: total, active: 0, bad: 0, events: total, outbox: total });
  });
});
