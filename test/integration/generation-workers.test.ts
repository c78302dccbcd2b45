import { describe, expect, it } from 'vitest';
import { reconcileLostWork } from '../../src/queues/reconcile.ts';
import { useTestPlatform, useWorkerProcesses, waitFor } from '../support/platform.ts';

/** Worker processes as operators run them (`npm run worker`), sharing this file's database and queue prefix. */
describe('generation across worker processes', { timeout: 180_000 }, () => {
  const workerEnv = { GENERATION_CHUNK_SIZE: '5000', GENERATION_CONCURRENCY: '2', WORKER_LOCK_DURATION_MS: '2000', LOG_LEVEL: 'warn' };
  // API only in this process: every chunk is written by the spawned worker processes.
  const p = useTestPlatform({ workers: false, env: workerEnv });
  const workers = useWorkerProcesses(p, workerEnv);

  async function generate(count: number): Promise<string> {
    const campaign = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'workers' } });
    const res = await p.call(`/v1/campaigns/${campaign.body.id}/generations`, { method: 'POST', json: { count } });
    expect(res.status).toBe(202);
    return res.body.id;
  }

  async function finished(id: string) {
    return waitFor(
      async () => {
        const g = (await p.call(`/v1/generations/${id}`)).body;
        return ['completed', 'failed', 'exhausted'].includes(g.status) ? g : undefined;
      },
      120_000,
      200,
    );
  }

  async function codeCounts(id: string) {
    const { rows } = await p.platform.db.query<{ total: string; distinct_codes: string }>(
      'select count(*) as total, count(distinct code) as distinct_codes from vouchers where generation_id = $1',
      [id],
    );
    return rows[0];
  }

  it('two worker processes share one generation', async () => {
    const [a, b] = [workers.start(), workers.start()];
    const id = await generate(200_000);
    const g = await finished(id);
    expect(g).toMatchObject({ status: 'completed', generated: 200_000 });
    expect(await codeCounts(id)).toEqual({ total: '200000', distinct_codes: '200000' });
    const { rows } = await p.platform.db.query<{ written_by: string }>(
      'select distinct written_by from generation_chunks where generation_id = $1',
      [id],
    );
    const writers = rows.map((r) => r.written_by.split(':')[1]);
    expect(new Set(writers)).toEqual(new Set([String(a.pid), String(b.pid)]));
    for (const child of [a, b]) child.kill('SIGTERM');
    await Promise.all([a, b].map((child) => new Promise((resolve) => child.once('exit', resolve))));
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
  });

  it('a worker killed (SIGKILL) mid-generation and restarted still ends with the exact count and no duplicates', async () => {
    const victim = workers.start();
    const id = await generate(100_000);
    // Kill while chunks are being written: some done, not all.
    await waitFor(
      async () => {
        const g = (await p.call(`/v1/generations/${id}`)).body;
        return g.generated >= 10_000 && g.generated < 100_000;
      },
      60_000,
      20,
    );
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));
    const partial = (await p.call(`/v1/generations/${id}`)).body;
    expect(partial.status).toBe('running');
    expect(partial.generated).toBeLessThan(100_000);

    workers.start();
    const g = await finished(id);
    expect(g).toMatchObject({ status: 'completed', generated: 100_000 });
    expect(await codeCounts(id)).toEqual({ total: '100000', distinct_codes: '100000' });
    const chunks = await p.platform.db.query<{ n: string; rows: string }>(
      'select count(*) as n, sum(inserted) as rows from generation_chunks where generation_id = $1',
      [id],
    );
    expect(chunks.rows[0]).toEqual({ n: '20', rows: '100000' });
  });

  it('re-enqueues a generation whose flow Redis lost, and it still ends exact', async () => {
    // No worker runs while the flow is lost.
    await workers.stop();
    const id = await generate(20_000);
    // Redis loses the flow before any worker ran it (or the intake could not enqueue at all).
    for (const name of ['generation-chunk', 'generation'] as const) await p.platform.queues.get(name).obliterate({ force: true });
    const reconcile = async () =>
      (await reconcileLostWork(p.platform, { only: ['generation.finalize'], missingForMs: 0 })).map((r) => r.rowId);
    expect(await reconcile()).toContain(id);
    expect(await reconcile()).not.toContain(id);
    workers.start();
    expect(await finished(id)).toMatchObject({ status: 'completed', generated: 20_000 });
    expect(await codeCounts(id)).toEqual({ total: '20000', distinct_codes: '20000' });
    const schedulers = await p.platform.queues.get('maintenance').getJobSchedulers();
    expect(schedulers.map((s) => s.key)).toContain('work-reconcile');
  });
});
