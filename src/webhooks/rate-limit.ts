import { hashTagged, type RedisClient } from '../queues/connection.ts';

/**
 * Per-endpoint pacing in Redis, shared by every worker process. Each delivery reserves the next send slot of its
 * endpoint (GCRA: one virtual "theoretical arrival time" per endpoint). The spacing is the larger of 1/rate and
 * the endpoint's observed latency divided by its in-flight cap, so a slow receiver's backlog waits in BullMQ's
 * delayed set at its own pace instead of occupying worker slots that other endpoints need.
 *
 * An endpoint's keys share one hash tag (`{endpointId}`), so both scripts run on a Redis Cluster.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[2])
if ARGV[5] == '1' then
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  local latency = tonumber(redis.call('GET', KEYS[2]) or '0')
  local interval = math.max(1000 / tonumber(ARGV[1]), latency / cap)
  if tat < now then tat = now end
  local wait = tat - now - interval * cap
  local nexttat = tat + interval
  redis.call('SET', KEYS[1], tostring(nexttat), 'PX', math.ceil(nexttat - now) + 60000)
  if wait > 0 then return {math.ceil(wait), 0} end
end
-- A crash-safe in-flight count: members expire on their own if a worker dies holding one.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if not redis.call('ZSCORE', KEYS[3], ARGV[3]) and redis.call('ZCARD', KEYS[3]) >= cap then return {0, 0} end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[4]))
return {0, 1}
`;

/** Exponentially weighted latency, which stretches the endpoint's spacing when it answers slowly. */
/** Frees the in-flight slot and folds the latency into the endpoint's exponentially weighted average. */
const RELEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
local old = tonumber(redis.call('GET', KEYS[2]) or ARGV[2])
local value = old * 0.8 + tonumber(ARGV[2]) * 0.2
redis.call('SET', KEYS[2], tostring(value), 'PX', 3600000)
return 1
`;

interface PacerCommands {
  webhookPaceTake(...args: (string | number)[]): Promise<[number, number]>;
  webhookPaceRelease(...args: (string | number)[]): Promise<number>;
}

export interface EndpointLimits {
  ratePerSecond: number;
  maxInFlight: number;
  /** How long an in-flight slot lives if its holder dies: the request timeout plus a margin. */
  slotTtlMs: number;
}

export class EndpointPacer {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #limits: EndpointLimits;

  constructor(redis: RedisClient, prefix: string, limits: EndpointLimits) {
    // Defined commands run by EVALSHA: the script text is not sent on every call.
    redis.defineCommand('webhookPaceTake', { numberOfKeys: 3, lua: TAKE });
    redis.defineCommand('webhookPaceRelease', { numberOfKeys: 2, lua: RELEASE });
    this.#redis = redis;
    this.#prefix = `${prefix}:webhook-pace`;
    this.#limits = limits;
  }

  /**
   * Reserves this endpoint's next send slot (unless `reserve` is false: the job already holds one) and takes an
   * in-flight slot, in one round trip. `waitMs` > 0: come back then; `acquired` false: the endpoint is busy.
   */
  async take(endpointId: string, holder: string, reserve: boolean): Promise<{ waitMs: number; acquired: boolean }> {
    const keys = this.#keys(endpointId);
    const [waitMs, acquired] = await (this.#redis as unknown as PacerCommands).webhookPaceTake(
      keys.tat,
      keys.latency,
      keys.inflight,
      this.#limits.ratePerSecond,
      this.#limits.maxInFlight,
      holder,
      this.#limits.slotTtlMs,
      reserve ? '1' : '0',
    );
    return { waitMs, acquired: acquired === 1 };
  }

  #keys(endpointId: string): { tat: string; latency: string; inflight: string } {
    const base = `${this.#prefix}:${hashTagged(endpointId)}`;
    return { tat: `${base}:tat`, latency: `${base}:latency`, inflight: `${base}:inflight` };
  }

  async release(endpointId: string, holder: string, latencyMs: number): Promise<void> {
    const keys = this.#keys(endpointId);
    await (this.#redis as unknown as PacerCommands).webhookPaceRelease(keys.inflight, keys.latency, holder, latencyMs);
  }
}
