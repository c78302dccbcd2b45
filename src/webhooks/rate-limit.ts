import { hashTagged, type RedisClient } from '../queues/connection.ts';

/**
 * Per-endpoint pacing in Redis, shared by every worker process, taken in batches: one script call grants a batch
 * job as many send slots as the endpoint's rate and in-flight cap allow right now (GCRA: one virtual "theoretical
 * arrival time" per endpoint, advanced by the slots granted; a burst of up to the in-flight cap). The spacing is the
 * larger of 1/rate and the endpoint's observed latency divided by its in-flight cap, so a slow receiver's backlog
 * waits in BullMQ's delayed set at its own pace instead of occupying worker slots that other endpoints need.
 *
 * An endpoint's keys share one hash tag (`{endpointId}`), so both scripts run on a Redis Cluster.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local wanted = #ARGV - 3
-- A crash-safe in-flight count: members expire on their own if a worker dies holding them.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local free = cap - redis.call('ZCARD', KEYS[3])
if free <= 0 then return {0, 0} end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local latency = tonumber(redis.call('GET', KEYS[2]) or '0')
local interval = math.max(1000 / tonumber(ARGV[1]), latency / cap)
if tat < now then tat = now end
-- Slot j (0-based) is due at tat + j * interval - interval * cap: grant those due by now.
local due = math.floor((now + interval * cap - tat) / interval) + 1
if due <= 0 then return {0, math.ceil(tat - now - interval * cap)} end
local granted = math.min(wanted, free, due)
local nexttat = tat + interval * granted
redis.call('SET', KEYS[1], tostring(nexttat), 'PX', math.ceil(nexttat - now) + 60000)
local members = {}
for i = 1, granted do
  members[#members + 1] = now + ttl
  members[#members + 1] = ARGV[3 + i]
end
redis.call('ZADD', KEYS[3], unpack(members))
redis.call('PEXPIRE', KEYS[3], ttl)
return {granted, 0}
`;

/** Frees the in-flight slots and folds the batch's mean latency into the endpoint's exponentially weighted average. */
const RELEASE = `
redis.call('ZREM', KEYS[1], unpack(ARGV, 2))
local old = tonumber(redis.call('GET', KEYS[2]) or ARGV[1])
local value = old * 0.8 + tonumber(ARGV[1]) * 0.2
redis.call('SET', KEYS[2], tostring(value), 'PX', 3600000)
return 1
`;

interface PacerCommands {
  webhookPaceTakeBatch(...args: (string | number)[]): Promise<[number, number]>;
  webhookPaceReleaseBatch(...args: (string | number)[]): Promise<number>;
}

export interface EndpointLimits {
  ratePerSecond: number;
  maxInFlight: number;
  /** How long an in-flight slot lives if its holder dies: the request timeout plus a margin. */
  slotTtlMs: number;
}

export interface Grant {
  /** How many of the holders asked for got a slot (the first `granted` of them), 0..holders.length. */
  granted: number;
  /** When none was granted because of the rate: come back in this many ms (0: the endpoint's in-flight cap is full). */
  waitMs: number;
}

export class EndpointPacer {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #limits: EndpointLimits;

  constructor(redis: RedisClient, prefix: string, limits: EndpointLimits) {
    // Defined commands run by EVALSHA: the script text is not sent on every call.
    redis.defineCommand('webhookPaceTakeBatch', { numberOfKeys: 3, lua: TAKE });
    redis.defineCommand('webhookPaceReleaseBatch', { numberOfKeys: 2, lua: RELEASE });
    this.#redis = redis;
    this.#prefix = `${prefix}:webhook-pace`;
    this.#limits = limits;
  }

  /** Takes send slots (rate and in-flight) for up to all of `holders` (one per delivery), in one round trip. */
  async take(endpointId: string, holders: readonly string[]): Promise<Grant> {
    if (holders.length === 0) return { granted: 0, waitMs: 0 };
    const keys = this.#keys(endpointId);
    const [granted, waitMs] = await (this.#redis as unknown as PacerCommands).webhookPaceTakeBatch(
      keys.tat,
      keys.latency,
      keys.inflight,
      this.#limits.ratePerSecond,
      this.#limits.maxInFlight,
      this.#limits.slotTtlMs,
      ...holders,
    );
    return { granted, waitMs };
  }

  #keys(endpointId: string): { tat: string; latency: string; inflight: string } {
    const base = `${this.#prefix}:${hashTagged(endpointId)}`;
    return { tat: `${base}:tat`, latency: `${base}:latency`, inflight: `${base}:inflight` };
  }

  /** Frees the holders' in-flight slots, in one round trip. */
  async release(endpointId: string, holders: readonly string[], meanLatencyMs: number): Promise<void> {
    if (holders.length === 0) return;
    const keys = this.#keys(endpointId);
    await (this.#redis as unknown as PacerCommands).webhookPaceReleaseBatch(keys.inflight, keys.latency, meanLatencyMs, ...holders);
  }
}
