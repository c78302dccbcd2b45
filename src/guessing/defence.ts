import calculateSlot from 'cluster-key-slot';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../config/index.ts';
import { keyPrefix, type RedisClient } from '../queues/connection.ts';
import { DomainError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { guessFailures, validationsWithoutShopper } from '../shared/metrics.ts';
import { type ResourceOwner, resourceKind } from '../shared/process-resources.ts';
import { tickBatcher } from '../shared/tick-batch.ts';
import { batchedCallCounter } from './call-counter.ts';

/** A 429: the caller may retry after `retryAfterSeconds` (sent as the Retry-After header). */
export class RateLimitedError extends DomainError {
  readonly retryAfterSeconds: number;
  constructor(code: string, message: string, retryAfterSeconds: number) {
    super('rate_limited', code, message, { retry_after: retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Who a lookup is on behalf of: the shopper's IP (from the configured header) and the customer from the body. */
export interface Shopper {
  ip?: string;
  customerId?: string;
}

type ShopperKey = { limiter: RateLimiterRedis; key: string };

const TOO_MANY_GUESSES = 'Too many failed code lookups; try again later.';

/**
 * Counts guesses (failed lookups) per shopper IP and per customer in Redis with rate-limiter-flexible, and caps
 * total calls per API key. The calling server's own address is never a key.
 *
 * A lookup is admitted when its API key is under its cap and none of its shopper keys has used up its guesses
 * (a read). A lookup that turns out to be a guess then consumes a point under each shopper key, atomically in
 * Redis: the one that takes a key past its limit is answered 429 instead of its result, so parallel guesses
 * cannot overshoot the limit. Past the limit every lookup, even of a correct code, is refused until the window
 * passes. Legitimate lookups never write to Redis, and API-key counts are sent once per event-loop turn.
 */
export class GuessingDefence {
  readonly #byIp: RateLimiterRedis;
  readonly #byCustomer: RateLimiterRedis;
  readonly #countCall: (apiKeyId: string) => Promise<void>;
  /** The limiters' own counters read with one MGET per turn of the event loop (their `get` builds a MULTI each). */
  readonly #readCounter: (redisKey: string) => Promise<string | null>;
  readonly #logger: Logger;
  /** Shopper keys seen past their limit, until their window ends: a locked-out attacker costs Redis nothing more. */
  readonly #lockedUntil = new Map<string, number>();
  /** API keys already warned about validating without a shopper (once per key and process). */
  readonly #warnedWithoutShopper = new Set<string>();
  readonly #ipHeader: string;

  constructor(redis: RedisClient, config: Config, logger: Logger) {
    this.#logger = logger;
    this.#ipHeader = config.GUESS_IP_HEADER;
    this.#readCounter = tickBatcher(async (keys) => {
      if (redis.status !== 'ready') throw new Error('Redis connection is not ready');
      return redis.isCluster ? mgetBySlot(redis, keys) : redis.mget(keys);
    });
    const guesses = { points: config.GUESS_LIMIT, duration: config.GUESS_WINDOW_SECONDS };
    const calls = { points: config.VALIDATION_API_KEY_LIMIT, duration: config.VALIDATION_API_KEY_WINDOW_SECONDS };
    // If Redis is unreachable, each process keeps counting in memory instead of failing checkout or opening the gate.
    const limiter = (name: string, opts: { points: number; duration: number }) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${keyPrefix(config)}:guess:${name}`,
        ...opts,
        // Straight to the fallback while the connection is down, instead of waiting out reconnection attempts.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${name}-insurance`, ...opts }),
      });
    this.#byIp = limiter('ip', guesses);
    this.#byCustomer = limiter('customer', guesses);
    this.#countCall = batchedCallCounter(limiter('apikey', calls));
  }

  /**
   * Counts the call against the API key's cap and checks that the shopper still has guesses left; throws a
   * RateLimitedError past either. Changes nothing for the shopper.
   */
  async admit(apiKeyId: string, shopper: Shopper): Promise<void> {
    const keys = this.#shopperKeys(shopper);
    const [call, ...states] = await Promise.allSettled([this.#countCall(apiKeyId), ...keys.map((k) => this.#remaining(k))]);
    if (call?.status === 'rejected')
      throw this.#limited(call.reason, 'rate_limited', 'Too many validation calls for this API key; slow down.');
    for (const state of states) {
      if (state.status === 'rejected') throw state.reason;
      if (state.value > 0) throw new RateLimitedError('too_many_guesses', TOO_MANY_GUESSES, secondsFrom(state.value));
    }
  }

  /**
   * A validation that names neither the shopper's IP nor a customer has no shopper to count guesses against (by
   * design: the calling server's own address is never a key). Counted per API key, and warned about once per key,
   * so an operator notices a checkout integration that forgot to forward the shopper.
   */
  noteValidation(apiKey: { id: string; name: string }, shopper: Shopper): void {
    if (shopper.ip || shopper.customerId) return;
    validationsWithoutShopper.inc({ api_key: apiKey.id });
    if (this.#warnedWithoutShopper.has(apiKey.id)) return;
    if (this.#warnedWithoutShopper.size >= 10_000) this.#warnedWithoutShopper.clear();
    this.#warnedWithoutShopper.add(apiKey.id);
    this.#logger.warn(
      { apiKeyId: apiKey.id, apiKeyName: apiKey.name, header: this.#ipHeader },
      "validation without a shopper: no shopper IP header and no customer, so no guessing defence applies to this API key's lookups",
    );
  }

  /**
   * A lookup was a guess: counts it per campaign and consumes a point under each shopper key. Throws a
   * RateLimitedError when that goes past a limit; the points taken under keys still within theirs are given back.
   */
  async recordGuess(shopper: Shopper, campaignId: string | null | undefined): Promise<void> {
    guessFailures.inc({ campaign_id: campaignId ?? 'unknown' });
    const keys = this.#shopperKeys(shopper);
    const results = await Promise.allSettled(keys.map(({ limiter, key }) => limiter.consume(key)));
    const refused = results.find((r) => r.status === 'rejected');
    if (!refused) return;
    results.forEach((r, i) => {
      if (r.status === 'rejected' && r.reason instanceof RateLimiterRes) this.#lock(keys[i] as ShopperKey, r.reason.msBeforeNext);
    });
    await Promise.all(results.map((r, i) => (r.status === 'fulfilled' ? this.#refund(keys[i] as ShopperKey) : undefined)));
    throw this.#limited(refused.reason, 'too_many_guesses', TOO_MANY_GUESSES);
  }

  #shopperKeys(shopper: Shopper): ShopperKey[] {
    const keys: ShopperKey[] = [];
    if (shopper.ip) keys.push({ limiter: this.#byIp, key: shopper.ip });
    if (shopper.customerId) keys.push({ limiter: this.#byCustomer, key: shopper.customerId });
    return keys;
  }

  /** Milliseconds until the key may look up again: 0 while it has guesses left. */
  async #remaining(shopperKey: ShopperKey): Promise<number> {
    const { limiter, key } = shopperKey;
    const memo = limiter.getKey(key);
    const until = this.#lockedUntil.get(memo);
    if (until !== undefined) {
      if (until > Date.now()) return until - Date.now();
      this.#lockedUntil.delete(memo);
    }
    // The time left is only asked for a key that is locked out. Without Redis, the limiter's fallback answers.
    let consumed: number;
    try {
      consumed = Number((await this.#readCounter(memo)) ?? 0);
    } catch {
      const state = await limiter.get(key);
      consumed = state?.consumedPoints ?? 0;
    }
    if (consumed < limiter.points) return 0;
    const ms = (await limiter.get(key))?.msBeforeNext ?? 1000;
    this.#lock(shopperKey, ms);
    return Math.max(1, ms);
  }

  #lock({ limiter, key }: ShopperKey, ms: number): void {
    if (this.#lockedUntil.size >= 100_000) this.#lockedUntil.clear();
    this.#lockedUntil.set(limiter.getKey(key), Date.now() + Math.max(1, ms));
  }

  async #refund({ limiter, key }: ShopperKey): Promise<void> {
    await limiter.reward(key, 1).catch((error: Error) => this.#logger.warn({ err: error.message }, 'guess refund failed'));
  }

  #limited(error: unknown, code: string, message: string): Error {
    if (error instanceof RateLimiterRes) return new RateLimitedError(code, message, secondsFrom(error.msBeforeNext));
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** MGET on a cluster: one per slot (a command's keys must share one), sent together; answers in the keys' order. */
async function mgetBySlot(redis: RedisClient, keys: string[]): Promise<(string | null)[]> {
  const bySlot = new Map<number, number[]>();
  keys.forEach((key, i) => {
    const slot = calculateSlot(key);
    const positions = bySlot.get(slot);
    if (positions) positions.push(i);
    else bySlot.set(slot, [i]);
  });
  const values: (string | null)[] = keys.map(() => null);
  await Promise.all(
    [...bySlot.values()].map(async (positions) => {
      const got = await redis.mget(positions.map((i) => keys[i] as string));
      positions.forEach((position, n) => {
        values[position] = got[n] ?? null;
      });
    }),
  );
  return values;
}

function secondsFrom(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** The shopper's IP: the first address in the configured forwarding header, as the calling server set it. */
export function shopperIp(headerValue: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(headerValue) ? headerValue[0] : headerValue;
  const first = raw?.split(',')[0]?.trim();
  return first ? first.slice(0, 64) : undefined;
}

interface DefencePlatform {
  redis: RedisClient;
  config: Config;
  logger: Logger;
  resources: ResourceOwner<DefencePlatform>;
}

const guessingDefence = resourceKind('guessing defence', (p: DefencePlatform) => new GuessingDefence(p.redis, p.config, p.logger));

/** One defence (and its in-memory counters) per platform, shared by the validation and redemption routes. */
export function guessingDefenceFor(platform: DefencePlatform): GuessingDefence {
  return platform.resources.get(guessingDefence);
}
