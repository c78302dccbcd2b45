import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { hashTagged, keyPrefix, queuePrefix, redisTarget } from '../../src/queues/connection.ts';

describe('Redis connection settings', () => {
  // Both ways of naming a cluster, each with its credentials, and the BullMQ prefix hash-tagged once.
  const clusters = [
    {
      env: { REDIS_URL: 'rediss+cluster://app:s%3Acret@10.0.0.1:7000,[::1]:7001', QUEUE_PREFIX: 'shop' },
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      credentials: { username: 'app', password: 's:cret', tls: true },
    },
    {
      env: { REDIS_URL: 'redis://:pw@ignored:6379', REDIS_CLUSTER_NODES: 'a:1, b:2', QUEUE_PREFIX: '{shop}' },
      nodes: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      credentials: { password: 'pw', tls: false },
    },
  ];

  it('reads the cluster from REDIS_CLUSTER_NODES or a redis+cluster:// URL, and hash-tags the BullMQ prefix', () => {
    for (const { env, nodes, credentials } of clusters) {
      const config = loadConfig(env);
      expect(redisTarget(config)).toEqual({ kind: 'cluster', nodes, ...credentials });
      expect(queuePrefix(config)).toBe('{shop}');
    }
    expect(queuePrefix(loadConfig({ QUEUE_PREFIX: 'shop' }))).toBe('shop');
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1,b' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://a:1,b:x' })).toThrow(/REDIS_URL/);
  });

  it("keeps the platform's own keys untagged, and tags a subject's keys together", () => {
    expect(keyPrefix(loadConfig({ QUEUE_PREFIX: '{shop}' }))).toBe('shop');
    expect(keyPrefix(loadConfig({ QUEUE_PREFIX: 'shop' }))).toBe('shop');
    expect(hashTagged('3f0c{x}')).toBe('{3f0cx}');
    expect(() => loadConfig({ QUEUE_PREFIX: '{a}{b}' })).toThrow(/QUEUE_PREFIX/);
  });
});
