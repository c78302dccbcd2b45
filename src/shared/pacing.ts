import { hashTagged, type RedisClient } from '../queues/connection.ts';

/**
 * A send rate shared by every worker process, taken in batches: one script call grants up to the number of sends
 * asked for that the rate allows now (GCRA: one "theoretical arrival time" per key, advanced by what it grants; a
 * burst of up to `burst`). In any window of T ms a key grants at most T·rate/1000 + burst + 1 sends.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local due = math.floor((now + interval * burst - tat) / interval) + 1
if due <= 0 then return {0, math.ceil(tat - now - interval * burst)} end
local granted = math.min(wanted, due)
local nexttat = tat + interval * granted
redis.call('SET', KEYS[1], tostring(nexttat), 'PX', math.ceil(nexttat - now) + 60000)
return {granted, 0}
`;

interface RateCommands {
  paceTakeRate(key: string, intervalMs: number, burst: number, wanted: number): Promise<[number, number]>;
}

export interface RateGrant {
  /** How many of the sends asked for may go now. */
  granted: number;
  /** When none may: how long until one may, in ms. */
  waitMs: number;
}

export class RatePacer {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  constructor(redis: RedisClient, prefix: string) {
    // A defined command runs by EVALSHA: the script text is not sent on every call.
    redis.defineCommand('paceTakeRate', { numberOfKeys: 1, lua: TAKE });
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** Up to `wanted` sends for `key` at `max` per `durationMs`, in one round trip. */
  async take(key: string, wanted: number, limit: { max: number; durationMs: number; burst: number }): Promise<RateGrant> {
    if (wanted <= 0) return { granted: 0, waitMs: 0 };
    const [granted, waitMs] = await (this.#redis as unknown as RateCommands).paceTakeRate(
      `${this.#prefix}:${hashTagged(key)}`,
      limit.durationMs / limit.max,
      limit.burst,
      wanted,
    );
    return { granted, waitMs };
  }
}
