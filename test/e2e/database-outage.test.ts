import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResult,
  apiCall,
  dropIsolation,
  type Isolation,
  isolation,
  spawnEntrypoint,
  TEST_PG,
  waitFor,
} from '../support/platform.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { uniqueName } from '../support/vouchers.ts';

/**
 * PostgreSQL connections cut under load (issue 12, fault 1): the platform runs as an operator runs it (`src/main/all.ts`,
 * API and workers in one child process) so the test can see that the process survives: same PID, every answer a
 * 2xx, 4xx or 503 `database_unavailable`, exact counts afterwards, and ready again.
 */
/** The test's own connections, which it never cuts. */
const TEST_CLIENT = 'outage-test';

describe('PostgreSQL connections cut during traffic', () => {
  let iso: Isolation;
  let proxy: TcpProxy;
  let child: ChildProcess;
  let pid: number;
  let url: string;
  let admin: pg.Client;
  let dbName: string;
  const output: string[] = [];

  const call = (path: string, init: RequestInit & { json?: unknown } = {}) => apiCall(url, iso.apiKey, path, init);

  /** Ends the platform's backends: all of them (idle in the pool, idle in a transaction, running), or only the running ones. */
  async function terminate(which: 'all' | 'active'): Promise<number> {
    const { rows } = await admin.query<{ n: number }>(
      `select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity
       where datname = $1 and application_name <> $3 and backend_type = 'client backend' and ($2 = 'all' or state = 'active')`,
      [dbName, which, TEST_CLIENT],
    );
    return rows[0]?.n ?? 0;
  }

  /** Keeps ending backends until at least one was ended (there is one, now and then, while work runs) or the work is over. */
  async function terminateDuring(which: 'all' | 'active', running: () => boolean | Promise<boolean>): Promise<number> {
    for (;;) {
      const n = await terminate(which);
      if (n > 0 || !(await running())) return n;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  function expectAlive() {
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
    expect(child.pid).toBe(pid);
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(output.join('')).not.toMatch(/unhandled|uncaught/i);
  }

  function expectOnlyKnownAnswers(answers: ApiResult[]) {
    for (const a of answers) {
      expect(a.status < 500 || a.status === 503, `status ${a.status}: ${JSON.stringify(a.body)}`).toBe(true);
      if (a.status === 503) {
        expect(a.body).toMatchObject({ status: 503, code: 'database_unavailable' });
        expect(a.headers.get('content-type')).toContain('application/problem+json');
        expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    }
  }

  beforeAll(async () => {
    proxy = await startTcpProxy('127.0.0.1', Number(new URL(TEST_PG).port || 5432));
    iso = isolation();
    dbName = `promo_test_${iso.id}`;
    const viaProxy = new URL(iso.env.DATABASE_URL as string);
    viaProxy.port = String(proxy.port);
    child = spawnEntrypoint('all', iso, {
      DATABASE_URL: viaProxy.toString(),
      LOG_LEVEL: 'info',
      // A small pool, so 200 requests queue for connections and every backend is busy when it is cut.
      DATABASE_POOL_SIZE: '4',
      DATABASE_CONNECT_TIMEOUT_MS: '5000',
      GENERATION_CHUNK_SIZE: '10000',
      EXPIRY_SWEEP_CRON: '* * * * * *',
      EXPIRY_SWEEP_BATCH_SIZE: '500',
      EXPIRY_SWEEP_BATCH_PAUSE_MS: '30',
    });
    pid = child.pid as number;
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    url = await waitFor(async () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output.join(''))?.[1], 60_000);
    admin = new pg.Client({ connectionString: `${TEST_PG}/postgres` });
    await admin.connect();
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await admin?.end();
    await proxy?.close();
    if (iso) await dropIsolation(iso);
  }, 60_000);

  async function campaign(body: Record<string, unknown> = {}): Promise<string> {
    const res = await call('/v1/campaigns', { method: 'POST', json: { name: uniqueName('outage'), ...body } });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function vouchers(campaignId: string, count: number, prefix: string): Promise<string[]> {
    const codes = Array.from({ length: count }, (_, i) => `${prefix}-${i}-${randomUUID().slice(0, 8)}`.toUpperCase());
    for (const code of codes) {
      const res = await call('/v1/vouchers', { method: 'POST', json: { campaign_id: campaignId, code } });
      expect(res.status).toBe(201);
    }
    return codes;
  }

  /** A redemption as a careful client sends it: with an Idempotency-Key, sent again with the same key after a 503. */
  async function redeemUntilAnswered(code: string, key: string, answers: ApiResult[]): Promise<ApiResult> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const res = await call('/v1/redemptions', { method: 'POST', headers: { 'idempotency-key': key }, json: { code } });
      answers.push(res);
      if (res.status !== 503) return res;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`redemption of ${code} still 503 after 20 tries`);
  }

  for (const which of ['all', 'active'] as const) {
    it(`200 parallel redemptions with ${which === 'all' ? 'every backend' : 'the active backends'} cut: exact counts, same process`, async () => {
      const campaignId = await campaign();
      const [single] = await vouchers(campaignId, 1, `ONCE-${which}`);
      const distinct = await vouchers(campaignId, 100, `EACH-${which}`);
      const first: ApiResult[] = [];
      const all: ApiResult[] = [];
      const requests = [...Array.from({ length: 100 }, () => single as string), ...distinct].map((code) => ({ code, key: randomUUID() }));
      let settled = 0;
      const storm = Promise.all(
        requests.map(async (r) => {
          const res = await call('/v1/redemptions', {
            method: 'POST',
            headers: { 'idempotency-key': r.key },
            json: { code: r.code },
          }).catch((error: Error): ApiResult => ({ status: 0, body: `no answer: ${error.message}`, headers: new Headers() }));
          settled++;
          first.push(res);
          all.push(res);
          return res;
        }),
      );
      await waitFor(async () => settled >= 10 || undefined, 30_000, 1);
      expect(await terminateDuring(which, () => settled < requests.length)).toBeGreaterThan(0);
      await waitFor(async () => settled >= 100 || undefined, 30_000, 1);
      await terminate(which);
      const answers = await storm;
      expectAlive();
      expectOnlyKnownAnswers(first);

      // Each 503 sent again with its key: a redemption that committed replays, one that did not runs now.
      const final = await Promise.all(
        requests.map((r, i) => (answers[i]?.status === 503 ? redeemUntilAnswered(r.code, r.key, all) : answers[i])),
      );
      expectOnlyKnownAnswers(all);
      const singleAnswers = final.slice(0, 100).map((a) => a?.status);
      expect(singleAnswers.filter((s) => s === 201)).toHaveLength(1);
      expect(singleAnswers.filter((s) => s !== 201).every((s) => s === 422)).toBe(true);
      expect(final.slice(100).map((a) => a?.status)).toEqual(distinct.map(() => 201));

      const db = new pg.Client({ connectionString: `${TEST_PG}/${dbName}`, application_name: TEST_CLIENT });
      await db.connect();
      try {
        const redeemed = await db.query<{ code: string; redemption_count: number; succeeded: number }>(
          `select v.code, v.redemption_count, (select count(*)::int from redemptions r where r.voucher_id = v.id and r.status = 'succeeded') as succeeded
           from vouchers v where v.campaign_id = $1`,
          [campaignId],
        );
        expect(redeemed.rows).toHaveLength(101);
        for (const row of redeemed.rows) expect([row.code, row.redemption_count, row.succeeded]).toEqual([row.code, 1, 1]);
      } finally {
        await db.end();
      }
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000);
      expectAlive();
    }, 120_000);
  }

  it('a generation with its backends cut ends with exactly the codes asked for', async () => {
    const campaignId = await campaign({ code_config: { pattern: 'CUT-####-####' } });
    const res = await call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 300_000 } });
    expect(res.status).toBe(202);
    const generationId = res.body.id;
    const progress = async () => (await call(`/v1/generations/${generationId}`)).body;
    const writing = async () => (await progress())?.status === 'running';
    // Cut while chunks are being written: once every backend, once only the running ones.
    await waitFor(async () => (await writing()) || undefined, 60_000, 5);
    expect(await terminate('all')).toBeGreaterThan(0);
    await waitFor(async () => ((await progress())?.generated ?? 0) > 0 || undefined, 60_000, 5);
    expect(await terminateDuring('active', writing)).toBeGreaterThan(0);
    const done = await waitFor(
      async () => {
        const g = await progress();
        return g && ['completed', 'failed', 'exhausted'].includes(g.status) ? g : undefined;
      },
      120_000,
      200,
    );
    expect(done).toMatchObject({ status: 'completed', requested: 300_000, generated: 300_000 });
    const db = new pg.Client({ connectionString: `${TEST_PG}/${dbName}`, application_name: TEST_CLIENT });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: number }>('select count(*)::int as n from vouchers where generation_id = $1', [generationId]);
      expect(rows[0]?.n).toBe(300_000);
    } finally {
      await db.end();
    }
    expectAlive();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000);
  }, 180_000);

  it('a sweep with its backends cut expires every due voucher exactly once', async () => {
    const campaignId = await campaign({ expiration_date: new Date(Date.now() + 86_400_000).toISOString() });
    const gen = await call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 20_000 } });
    await waitFor(async () => (await call(`/v1/generations/${gen.body.id}`)).body?.status === 'completed' || undefined, 120_000, 200);
    const db = new pg.Client({ connectionString: `${TEST_PG}/${dbName}`, application_name: TEST_CLIENT });
    await db.connect();
    try {
      const expired = async () =>
        (
          await db.query<{ n: number }>(`select count(*)::int as n from vouchers where campaign_id = $1 and status = 'expired'`, [
            campaignId,
          ])
        ).rows[0]?.n ?? 0;
      // The campaign ends: the every-second sweep expires its 20,000 codes in batches of 500.
      const patched = await call(`/v1/campaigns/${campaignId}`, {
        method: 'PATCH',
        json: { expiration_date: new Date(Date.now() - 1_000).toISOString() },
      });
      expect(patched.status).toBe(200);
      await waitFor(async () => (await expired()) > 0 || undefined, 60_000, 5);
      expect(await terminate('all')).toBeGreaterThan(0);
      await waitFor(async () => (await expired()) > 5_000 || undefined, 60_000, 5);
      expect(await terminateDuring('active', async () => (await expired()) < 20_000)).toBeGreaterThan(0);
      await waitFor(async () => (await call(`/v1/campaigns/${campaignId}`)).body?.status === 'expired' || undefined, 120_000, 200);
      expect(await expired()).toBe(20_000);
      const events = await db.query<{ vouchers: number; events: number; outbox: number }>(
        `select (select count(*)::int from vouchers where campaign_id = $1) as vouchers,
                (select count(*)::int from voucher_events e join vouchers v on v.id = e.voucher_id
                  where v.campaign_id = $1 and e.type = 'expired') as events,
                (select count(*)::int from outbox_events where type = 'voucher.expired' and data->>'campaign_id' = $1::text) as outbox`,
        [campaignId],
      );
      expect(events.rows[0]).toEqual({ vouchers: 20_000, events: 20_000, outbox: 20_000 });
    } finally {
      await db.end();
    }
    expectAlive();
  }, 240_000);

  it('answers 503 database_unavailable while PostgreSQL is unreachable, and is ready again when it is back', async () => {
    const campaignId = await campaign();
    const [code] = await vouchers(campaignId, 1, 'AWAY');
    await proxy.cut();
    await waitFor(async () => {
      const res = await fetch(`${url}/readyz`);
      return res.status === 503 && ((await res.json()) as { checks: { postgres: string } }).checks.postgres !== 'ok';
    }, 30_000);
    const answers = [
      await call(`/v1/campaigns/${campaignId}`),
      await call('/v1/validations', { method: 'POST', json: { code } }),
      await call('/v1/redemptions', { method: 'POST', json: { code } }),
    ];
    expect(answers.map((a) => a.status)).toEqual([503, 503, 503]);
    expectOnlyKnownAnswers(answers);
    expectAlive();
    await proxy.restore();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000);
    const validation = await call('/v1/validations', { method: 'POST', json: { code } });
    expect(validation.status).toBe(200);
    expect(validation.body.valid).toBe(true);
    expectAlive();
  }, 120_000);
});
