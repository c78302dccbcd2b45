import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { apiKeyAuthenticatorFor } from '../../src/auth/api-keys.ts';
import { run } from '../../src/main/runtime.ts';
import { apiCall, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { runPlatformSmoke, SMOKE_ENV } from '../support/platform-smoke.ts';
import { hasProgram, type LocalRedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const binaries = (await hasProgram('redis-server')) && (await hasProgram('redis-cli'));
if (!binaries) console.warn('redis-cluster.test.ts skipped: redis-server and redis-cli are needed to start a local Redis Cluster');

/** The whole platform (API and workers) on a real three-master Redis Cluster started for this file. */
describe.skipIf(!binaries)('on a Redis Cluster', () => {
  let cluster: LocalRedisCluster;
  let p: TestPlatform;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    receiver = await startReceiver();
    p = await startTestPlatform({ env: { ...SMOKE_ENV, REDIS_URL: `redis+cluster://${cluster.nodes}` } });
  }, 90_000);
  afterAll(async () => {
    await p?.destroy();
    await receiver?.close();
    await cluster?.stop();
  });

  it('generates, validates, redeems, delivers webhooks and sweeps, with every queue key in one slot', async () => {
    await runPlatformSmoke(p, receiver);
    const redis = p.platform.redis as Cluster;
    expect(redis.isCluster).toBe(true);
    // The queues really live on the cluster, under the hash-tagged prefix (one slot, so one master holds them all).
    const prefix = `{${p.isolation.env.QUEUE_PREFIX}}`;
    const keysByNode = await Promise.all(redis.nodes('master').map((node) => node.keys(`${prefix}:*`)));
    expect(keysByNode.filter((keys) => keys.length > 0)).toHaveLength(1);
    expect(keysByNode.flat()).toEqual(expect.arrayContaining([`${prefix}:generation:meta`, `${prefix}:webhook:meta`]));
    // No command was refused for spanning slots, not even one whose caller would have fallen back quietly.
    const errorStats = await Promise.all(redis.nodes('master').map((node) => node.info('errorstats')));
    expect(errorStats.join('\n')).not.toMatch(/CROSSSLOT/);
    const commandStats = await Promise.all(redis.nodes('master').map((node) => node.info('commandstats')));
    expect(commandStats.join('\n')).toMatch(/cmdstat_mget:calls=[1-9]/);
    // The guessing counters spread over the cluster by shopper (no hash tag).
    const guessKeys = await Promise.all(redis.nodes('master').map((node) => node.keys(`${p.isolation.env.QUEUE_PREFIX}:guess:*`)));
    expect(guessKeys.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
  }, 300_000);

  it('a revoked key is refused by another API process on the same cluster within 1 s', async () => {
    // A second API on the same database, prefix and cluster, as a second API process would be.
    const second = await run(loadConfig({ ...p.isolation.env, API_KEY_CACHE_TTL_MS: '60000' }), { api: true, workers: false });
    try {
      const viaSecond = (key: string) => apiCall(second.url as string, key, '/v1/campaigns');
      expect((await viaSecond(p.apiKey)).status).toBe(200);
      await waitFor(async () => apiKeyAuthenticatorFor(second.platform).live, 10_000, 20);
      const created = await p.call('/v1/api-keys', { method: 'POST', json: { name: 'cluster-revoked' } });
      const key = created.body.key as string;
      expect((await viaSecond(key)).status).toBe(200);
      // Past the fallback TTL the answer is still cached: only the published revocation can end it early.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect((await viaSecond(key)).status).toBe(200);
      const started = Date.now();
      expect((await p.call(`/v1/api-keys/${created.body.id}`, { method: 'DELETE' })).status).toBe(204);
      await waitFor(async () => (await viaSecond(key)).status === 401, 15_000, 20);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await second.stop();
    }
  });
});
