import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResult, apiCall, spawnEntrypoint, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { freePort } from '../support/redis-server.ts';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const env = {
  GENERATION_CHUNK_SIZE: '1000',
  WORKER_LOCK_DURATION_MS: '1500',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  OUTBOX_RELAY_INTERVAL_MS: '200',
  WEBHOOK_REQUEUE_AFTER_MS: '3000',
  DATABASE_POOL_SIZE: '5',
};

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Two API processes and two worker processes on one PostgreSQL and one Redis, as a deployment runs them, while
 * redemptions, a generation and webhook deliveries are under way: one worker is SIGKILLed and one API restarted.
 * The checkout client behaves like one behind a load balancer: it sends to either API, and a request whose
 * connection failed is sent again, with the same Idempotency-Key, to the other.
 */
describe('two API and two worker processes, one worker killed and one API restarted during traffic', () => {
  let p: TestPlatform;
  let receiver: WebhookReceiver;
  const apis: { port: number; child: ChildProcess; url: string }[] = [];
  const workers: ChildProcess[] = [];
  let stopTraffic = false;

  const startApi = (port: number) => spawnEntrypoint('api', p.isolation, { ...env, PORT: String(port) });
  // Generous: four processes starting at once on a busy two-core machine take their time.
  const ready = (url: string) => waitFor(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 120_000, 50);

  beforeAll(async () => {
    // This process only prepares the database and reads it; the platform under test is the four child processes.
    p = await startTestPlatform({ api: false, workers: false, env });
    receiver = await startReceiver(() => ({ status: 200, delayMs: 5 }));
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      apis.push({ port, child: startApi(port), url: `http://127.0.0.1:${port}` });
      workers.push(spawnEntrypoint('worker', p.isolation, env));
    }
    for (const api of apis) await ready(api.url);
  }, 180_000);
  afterAll(async () => {
    stopTraffic = true;
    for (const child of [...apis.map((a) => a.child), ...workers]) await stop(child, 'SIGKILL');
    await receiver?.close();
    await p?.destroy();
  });

  const admin = (path: string, init?: RequestInit & { json?: unknown }) => apiCall(apis[0]?.url as string, p.apiKey, path, init);

  const generate = async (campaignId: string, count: number) => {
    const res = await admin(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count } });
    expect(res.status).toBe(202);
    return res.body.id as string;
  };
  const generation = async (id: string) => (await admin(`/v1/generations/${id}`)).body as { status: string; generated: number };

  it('keeps every count exact', async () => {
    const endpoint = await admin('/v1/webhooks', { method: 'POST', json: { url: receiver.url, events: ['voucher.redemption.succeeded'] } });
    expect(endpoint.status).toBe(201);
    const shop = (await admin('/v1/campaigns', { method: 'POST', json: { name: 'Shop', code_config: { pattern: 'SHOP-######' } } })).body
      .id;
    const bulk = (await admin('/v1/campaigns', { method: 'POST', json: { name: 'Bulk', code_config: { pattern: 'BULK-########' } } })).body
      .id;
    const first = await generate(shop, 1_000);
    await waitFor(async () => (await generation(first)).status === 'completed', 120_000);
    const codes = (
      await p.platform.db.query<{ code: string }>('select code from vouchers where campaign_id = $1 order by random()', [shop])
    ).rows.map((r) => r.code);

    // Checkout traffic: each code is raced by two shoppers; a failed connection is retried on the other API.
    const answers: { code: string; api: number; after: boolean; result: ApiResult }[] = [];
    let transportRetries = 0;
    const unanswered: string[] = [];
    let apiRestarted = false;
    let next = 0;
    let attempt = 0;
    const send = async (code: string, racer: number): Promise<void> => {
      const key = `${code}-${racer}`;
      const deadline = Date.now() + 120_000;
      for (;;) {
        const api = attempt++ % 2;
        const after = apiRestarted;
        try {
          const result = await apiCall(apis[api]?.url as string, p.apiKey, '/v1/redemptions', {
            method: 'POST',
            json: { code, customer: { id: `shopper-${code}-${racer}` } },
            headers: { 'Idempotency-Key': key, 'X-Forwarded-For': `198.51.100.${(racer % 200) + 1}` },
          });
          answers.push({ code, api, after, result });
          return;
        } catch {
          // The API went away mid-request (or before it): send it again elsewhere, as a load balancer would.
          transportRetries += 1;
          if (Date.now() > deadline) {
            unanswered.push(key);
            return;
          }
          await sleep(20);
        }
      }
    };
    const client = async () => {
      while (!stopTraffic && next < codes.length) {
        const code = codes[next++] as string;
        await Promise.all([send(code, 0), send(code, 1)]);
        await sleep(15);
      }
    };
    const traffic = Promise.all(Array.from({ length: 6 }, client));

    // A generation while checkout runs; one worker is SIGKILLed with chunks in hand, one API restarted.
    const big = await generate(bulk, 20_000);
    await waitFor(async () => (await generation(big)).generated >= 4_000, 120_000, 50);
    await stop(workers[0] as ChildProcess, 'SIGKILL');
    const restarted = apis[1] as (typeof apis)[number];
    const pidBefore = restarted.child.pid;
    await stop(restarted.child, 'SIGTERM');
    expect(restarted.child.exitCode).toBe(0);
    restarted.child = startApi(restarted.port);
    await ready(restarted.url);
    apiRestarted = true;
    expect(restarted.child.pid).not.toBe(pidBefore);
    await waitFor(async () => (await generation(big)).status === 'completed', 120_000, 200);
    // Some traffic on the restarted API, then stop.
    await waitFor(async () => answers.some((a) => a.after && a.api === 1 && a.result.status === 201), 60_000, 50);
    stopTraffic = true;
    await traffic;
    expect(unanswered).toEqual([]);

    // Every answer is a decision: 201 or 422, never 5xx; each code redeemed exactly once.
    const statuses = answers.reduce<Record<number, number>>((acc, a) => {
      acc[a.result.status] = (acc[a.result.status] ?? 0) + 1;
      return acc;
    }, {});
    expect(Object.keys(statuses).sort()).toEqual(['201', '422']);
    const tried = [...new Set(answers.map((a) => a.code))];
    expect(answers).toHaveLength(tried.length * 2);
    const winners = new Map<string, Set<string>>();
    for (const a of answers) {
      if (a.result.status === 201) winners.set(a.code, (winners.get(a.code) ?? new Set()).add(a.result.body.id));
      else expect(a.result.body.code).toBe('quantity_exceeded');
    }
    expect(tried.every((code) => winners.get(code)?.size === 1)).toBe(true);
    const db = await p.platform.db.query<{ redemptions: number; codes: number; over: number; used: number }>(
      `select (select count(*)::int from redemptions where campaign_id = $1 and status = 'succeeded') as redemptions,
              (select count(distinct voucher_id)::int from redemptions where campaign_id = $1) as codes,
              (select count(*)::int from vouchers where campaign_id = $1 and redemption_count > 1) as over,
              (select coalesce(sum(redemption_count), 0)::int from vouchers where campaign_id = $1) as used`,
      [shop],
    );
    expect(db.rows[0]).toEqual({ redemptions: tried.length, codes: tried.length, over: 0, used: tried.length });

    // The generation finished exactly, though a worker died holding chunks.
    expect(await generation(big)).toMatchObject({ status: 'completed', generated: 20_000 });
    const bulkCount = await p.platform.db.query<{ n: number }>('select count(*)::int as n from vouchers where campaign_id = $1', [bulk]);
    expect(bulkCount.rows[0]?.n).toBe(20_000);

    // One webhook per redemption, each delivered (at least once; a resend keeps its webhook-id).
    await waitFor(async () => new Set(receiver.received.map((r) => r.id)).size >= tried.length, 120_000, 100);
    const deliveryStatuses = async () =>
      Object.fromEntries(
        (
          await p.platform.db.query<{ status: string; n: number }>(
            'select status, count(*)::int as n from webhook_deliveries where endpoint_id = $1 group by status',
            [endpoint.body.id],
          )
        ).rows.map((r) => [r.status, r.n]),
      );
    await waitFor(async () => (await deliveryStatuses()).succeeded === tried.length, 60_000);
    expect(await deliveryStatuses()).toEqual({ succeeded: tried.length });
    const delivered = new Set(receiver.received.map((r) => JSON.parse(r.body).data.code as string));
    expect(delivered.size).toBe(tried.length);
    expect(tried.every((code) => delivered.has(code))).toBe(true);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(tried.length);

    // The API that was not restarted kept its process; the surviving worker is still up.
    expect(apis[0]?.child.exitCode).toBeNull();
    expect(workers[1]?.exitCode).toBeNull();
    console.info(
      `chaos: ${tried.length} codes redeemed once each from ${answers.length} answers (${transportRetries} requests resent after a connection failed); 20,000 codes generated`,
    );
  }, 420_000);
});
