import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, dropIsolation, type Isolation, isolation, spawnEntrypoint, waitFor } from '../support/platform.ts';
import { freePort, startRedis, stopRedis } from '../support/redis-server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two API processes against one PostgreSQL and one Redis (the test's own, so it can be stopped). */
describe('API key revocation across API processes', () => {
  let iso: Isolation;
  let redisPort: number;
  let redis: ChildProcess;
  const apis: { child: ChildProcess; url: string }[] = [];

  beforeAll(async () => {
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    // A long cache TTL: only an invalidation (or the fallback while Redis is unheard) can end a cached answer early.
    iso = isolation({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, API_KEY_CACHE_TTL_MS: '60000', API_KEY_CACHE_FALLBACK_TTL_MS: '1000' });
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      apis.push({ child: spawnEntrypoint('api', iso, { PORT: String(port) }), url: `http://127.0.0.1:${port}` });
    }
    for (const api of apis) await waitFor(async () => (await fetch(`${api.url}/readyz`).catch(() => null))?.status === 200, 120_000);
  }, 180_000);
  afterAll(async () => {
    for (const { child } of apis) {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    if (redis.signalCode === 'SIGSTOP' || redis.exitCode === null) redis.kill('SIGCONT');
    await stopRedis(redis);
    redis = await startRedis(redisPort);
    if (iso) await dropIsolation(iso);
    await stopRedis(redis);
  });

  const call = (i: number, key: string, path: string, init?: RequestInit & { json?: unknown }) =>
    apiCall(apis[i]?.url as string, key, path, init);
  const a = { call: (key: string, path: string, init?: RequestInit & { json?: unknown }) => call(0, key, path, init) };
  const b = { call: (key: string, path: string, init?: RequestInit & { json?: unknown }) => call(1, key, path, init) };

  /**
   * Both processes subscribed to revocations (each subscribes on its first authentication) and hearing their
   * heartbeats again: a process counts its subscription live from the first heartbeat after a gap, and after a Redis
   * restart that beat waits for the process's publishing connection to reconnect, which can take longer than the
   * subscriber's on a busy machine.
   */
  const bothSubscribed = async () => {
    const beats = new Redis(redisPort, '127.0.0.1', { maxRetriesPerRequest: 1 });
    const beating = new Set<string>();
    beats.on('pmessage', (_pattern: string, channel: string) => beating.add(channel));
    await beats.psubscribe(`${iso.env.QUEUE_PREFIX}:api-keys:heartbeat:*`);
    for (let i = 0; i < 2; i++) expect((await call(i, iso.apiKey, '/v1/campaigns')).status).toBe(200);
    const probe = new Redis(redisPort, '127.0.0.1', { maxRetriesPerRequest: 1 });
    try {
      await waitFor(async () => {
        const [, subscribers] = (await probe.pubsub('NUMSUB', `${iso.env.QUEUE_PREFIX}:api-keys:revoked`)) as [string, number];
        return subscribers === 2;
      }, 15_000);
      // A heartbeat from each process has gone through Redis since both subscribed.
      beating.clear();
      await waitFor(async () => beating.size === 2, 15_000, 20);
    } finally {
      probe.disconnect();
      beats.disconnect();
    }
    // ... and reached its own subscriber too.
    await sleep(100);
  };

  const newKey = async (name: string) => {
    const created = await a.call(iso.apiKey, '/v1/api-keys', { method: 'POST', json: { name } });
    expect(created.status).toBe(201);
    return { id: created.body.id as string, key: created.body.key as string };
  };
  const lastUsed = async (id: string) =>
    (await a.call(iso.apiKey, '/v1/api-keys')).body.data.find((k: { id: string }) => k.id === id).last_used_at as string;

  /** Polls B with the key until it is refused; milliseconds from `since` to the start of the request refused. */
  const untilRefused = async (key: string, since: number) => {
    let sent = 0;
    await waitFor(
      async () => {
        sent = Date.now();
        return (await b.call(key, '/v1/campaigns')).status === 401;
      },
      15_000,
      20,
    );
    return sent - since;
  };

  it('a key revoked through one API process is refused by the other within 1 s, from a cache entry the TTL would keep', async () => {
    await bothSubscribed();
    const { id, key } = await newKey('revoked-live');
    expect((await b.call(key, '/v1/campaigns')).status).toBe(200);
    const checked = await lastUsed(id);
    // Past the fallback TTL, B still answers from its cache (the database is not asked: last_used_at stays).
    await sleep(1_300);
    expect((await b.call(key, '/v1/campaigns')).status).toBe(200);
    expect(await lastUsed(id)).toBe(checked);

    const started = Date.now();
    const revoked = await a.call(iso.apiKey, `/v1/api-keys/${id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(204);
    expect((await a.call(key, '/v1/campaigns')).status).toBe(401);
    const elapsed = await untilRefused(key, started);
    expect(elapsed).toBeLessThan(1_000);
    const refused = await b.call(key, '/v1/campaigns');
    expect(refused.body).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('with Redis frozen (connections open, no answers), the other process fails closed within the fallback TTL', async () => {
    const { id, key } = await newKey('revoked-frozen');
    expect((await b.call(key, '/v1/campaigns')).status).toBe(200);
    redis.kill('SIGSTOP');
    try {
      const started = Date.now();
      expect((await a.call(iso.apiKey, `/v1/api-keys/${id}`, { method: 'DELETE' })).status).toBe(204);
      const elapsed = await untilRefused(key, started);
      // The fallback TTL (1 s) from B's last look at the database, plus the poll's own round trips.
      expect(elapsed).toBeLessThan(1_500);
      // Keys that are still valid keep working on B meanwhile: only the cache got shorter.
      expect((await b.call(iso.apiKey, '/v1/campaigns')).status).toBe(200);
    } finally {
      redis.kill('SIGCONT');
    }
  });

  it('with Redis gone, the other process fails closed within the fallback TTL and serves valid keys from PostgreSQL', async () => {
    const { id, key } = await newKey('revoked-down');
    expect((await b.call(key, '/v1/campaigns')).status).toBe(200);
    await stopRedis(redis);
    const started = Date.now();
    expect((await a.call(iso.apiKey, `/v1/api-keys/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await untilRefused(key, started)).toBeLessThan(1_500);
    for (let i = 0; i < 5; i++) expect((await b.call(iso.apiKey, '/v1/campaigns')).status).toBe(200);

    // Redis back (empty): the subscription is proven again and a revocation propagates at once.
    redis = await startRedis(redisPort);
    await bothSubscribed();
    const next = await newKey('revoked-after-restart');
    expect((await b.call(next.key, '/v1/campaigns')).status).toBe(200);
    const checked = await lastUsed(next.id);
    await sleep(1_300);
    expect((await b.call(next.key, '/v1/campaigns')).status).toBe(200);
    expect(await lastUsed(next.id)).toBe(checked);
    const again = Date.now();
    expect((await a.call(iso.apiKey, `/v1/api-keys/${next.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await untilRefused(next.key, again)).toBeLessThan(1_000);
  });
});
