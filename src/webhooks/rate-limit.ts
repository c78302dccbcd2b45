import type { Redis } from 'ioredis';

/**
 * Per-endpoint pacing in Redis, shared by every worker process. Each delivery reserves the next send slot of its
 * endpoint (GCRA: one virtual "theoretical arrival time" per endpoint). The spacing is the larger of 1/rate and
 * the endpoint's observed latency divided by its in-flight cap, so a slow receiver's backlog waits in BullMQ's
 * delayed set at its own pace instead of occupying worker slots that other endpoints need.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local latency = tonumber(redis.call('GET', KEYS[2]) or '0')
local cap = tonumber(ARGV[2])
local interval = math.max(1000 / tonumber(ARGV[1]), latency / cap)
local burst = interval * cap
if tat < now then tat = now end
local wait = tat - now - burst
if wait < 0 then wait = 0 end
local nexttat = tat + interval
redis.call('SET', KEYS[1], tostring(nexttat), 'PX', math.ceil(nexttat - now) + 60000)
return {now, math.ceil(wait)}
`;

/** A crash-safe in-flight count: members expire on their own if a worker dies holding one. */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`;

/** Exponentially weighted latency, which stretches the endpoint's spacing when it answers slowly. */
const OBSERVE = `
local old = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
local value = old * 0.8 + tonumber(ARGV[1]) * 0.2
redis.call('SET', KEYS[1], tostring(value), 'PX', 3600000)
return 1
`;

export interface EndpointLimits {
  ratePerSecond: number;
  maxInFlight: number;
  /** How long an in-flight slot lives if its holder dies: the request timeout plus a margin. */
  slotTtlMs: number;
}

export class EndpointPacer {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #limits: EndpointLimits;

  constructor(redis: Redis, prefix: string, limits: EndpointLimits) {
    this.#redis = redis;
    this.#prefix = `${prefix}:webhook-pace`;
    this.#limits = limits;
  }

  /** Reserves this endpoint's next send slot; returns how long to wait for it (0 = now). */
  async reserve(endpointId: string): Promise<number> {
    const [, wait] = (await this.#redis.eval(
      RESERVE,
      2,
      `${this.#prefix}:tat:${endpointId}`,
      `${this.#prefix}:latency:${endpointId}`,
      this.#limits.ratePerSecond,
      this.#limits.maxInFlight,
    )) as [number, number];
    return wait;
  }

  async acquire(endpointId: string, holder: string): Promise<boolean> {
    const ok = await this.#redis.eval(
      ACQUIRE,
      1,
      `${this.#prefix}:inflight:${endpointId}`,
      holder,
      this.#limits.maxInFlight,
      this.#limits.slotTtlMs,
    );
    return ok === 1;
  }

  async release(endpointId: string, holder: string, latencyMs: number): Promise<void> {
    await this.#redis
      .multi()
      .zrem(`${this.#prefix}:inflight:${endpointId}`, holder)
      .eval(OBSERVE, 1, `${this.#prefix}:latency:${endpointId}`, latencyMs)
      .exec();
  }
}
