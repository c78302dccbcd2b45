import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { afterAll, describe, expect, it } from 'vitest';
import { batchedCallCounter } from '../../src/guessing/call-counter.ts';
import { DatabaseUnavailableError } from '../../src/shared/errors.ts';
import { BatchRefusal, tickBatcher } from '../../src/shared/tick-batch.ts';
import { TEST_REDIS } from '../support/platform.ts';

describe('tickBatcher', () => {
  it('runs the calls of one event-loop turn as one batch, answering each in order', async () => {
    const batches: number[][] = [];
    const double = tickBatcher(async (items: number[]) => {
      batches.push(items);
      return items.map((n) => (n === 3 ? new BatchRefusal(new Error('three')) : n * 2));
    });
    const first = await Promise.allSettled([1, 2, 3, 4].map(double));
    expect(first.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([2, 4, 'three', 8]);
    expect(await double(5)).toBe(10);
    expect(batches).toEqual([[1, 2, 3, 4], [5]]);
  });

  it('caps a batch at maxBatch and fails every call of a batch whose run throws', async () => {
    const sizes: number[] = [];
    const fail = tickBatcher(
      async (items: number[]) => {
        sizes.push(items.length);
        throw new Error('down');
      },
      { maxBatch: 4 },
    );
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => fail(i)));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'down')).toBe(true);
    expect(sizes).toEqual([4, 4, 2]);
  });
});

describe('tickBatcher with isolateFailures', () => {
  it('answers each item of a failed batch on its own, so one bad item fails alone', async () => {
    const batches: number[][] = [];
    const strict = tickBatcher(
      async (items: number[]) => {
        batches.push(items);
        if (items.includes(13)) throw new Error('thirteen');
        return items;
      },
      { isolateFailures: true },
    );
    const results = await Promise.allSettled([11, 12, 13, 14].map(strict));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([11, 12, 'thirteen', 14]);
    expect(batches).toEqual([[11, 12, 13, 14], [11], [12], [13], [14]]);
  });

  it('fails the whole batch at once in an outage, which every item would meet again', async () => {
    let runs = 0;
    const down = tickBatcher(
      async () => {
        runs++;
        throw new DatabaseUnavailableError(new Error('Connection terminated unexpectedly'));
      },
      { isolateFailures: true },
    );
    const results = await Promise.allSettled([1, 2, 3].map(down));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof DatabaseUnavailableError)).toBe(true);
    expect(runs).toBe(1);
  });
});

describe('tickBatcher with batches out', () => {
  it('holds new calls while maxInFlight batches are out, then sends them together', async () => {
    const batches: number[][] = [];
    const gates: (() => void)[] = [];
    const echo = tickBatcher(
      (items: number[]) => {
        batches.push(items);
        return new Promise<number[]>((resolve) => gates.push(() => resolve(items)));
      },
      { maxInFlight: 1 },
    );
    const first = echo(1);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1]]);
    const later = [echo(2), echo(3)];
    await new Promise((r) => setImmediate(r));
    const last = echo(4);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1]]);
    gates.shift()?.();
    expect(await first).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1], [2, 3, 4]]);
    gates.shift()?.();
    expect(await Promise.all([...later, last])).toEqual([2, 3, 4]);
  });
});

describe('batchedCallCounter (real Redis)', () => {
  const redis = new Redis(TEST_REDIS);
  afterAll(() => redis.quit());
  const limiter = () =>
    new RateLimiterRedis({ storeClient: redis, keyPrefix: `promo_test_calls_${process.pid}_${Date.now()}`, points: 5, duration: 60 });

  it('admits exactly the calls that fit, in arrival order, when a batch crosses the limit', async () => {
    const count = batchedCallCounter(limiter());
    expect((await Promise.allSettled([count('a'), count('a')])).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const burst = await Promise.allSettled([...Array.from({ length: 6 }, () => count('a')), count('b')]);
    expect(burst.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    const refusal = (burst[3] as PromiseRejectedResult).reason;
    expect(refusal).toBeInstanceOf(RateLimiterRes);
    expect(refusal.msBeforeNext).toBeGreaterThan(0);
    await expect(count('a')).rejects.toBeInstanceOf(RateLimiterRes);
  });
});
