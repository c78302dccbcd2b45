import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { hashTagged, keyPrefix, queuePrefix, redisTarget } from '../../src/queues/connection.ts';

describe('Redis connection settings', () => {
  it('reads the cluster from REDIS_CLUSTER_NODES or a redis+cluster:// URL, and hash-tags the BullMQ prefix', () => {
    const fromUrl = loadConfig({ REDIS_URL: 'rediss+cluster://app:s%3Acret@10.0.0.1:7000,[::1]:7001', QUEUE_PREFIX: 'shop' });
    expect(redisTarget(fromUrl)).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      username: 'app',
      password: 's:cret',
      tls: true,
    });
    expect(queuePrefix(fromUrl)).toBe('{shop}');
    const fromNodes = loadConfig({ REDIS_URL: 'redis://:pw@ignored:6379', REDIS_CLUSTER_NODES: 'a:1, b:2', QUEUE_PREFIX: '{shop}' });
    expect(redisTarget(fromNodes)).toMatchObject({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      password: 'pw',
    });
    expect(queuePrefix(fromNodes)).toBe('{shop}');
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
