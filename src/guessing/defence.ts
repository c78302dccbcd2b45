import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../config/index.ts';
import { DomainError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { guessFailures } from '../shared/metrics.ts';

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

/** The points a lookup reserved; settle() keeps them when the lookup was a guess and gives them back otherwise. */
export interface GuessTicket {
  keys: { limiter: RateLimiterRedis; key: string }[];
  settled: boolean;
}

/**
 * Counts guesses (failed lookups) per shopper IP and per customer in Redis with rate-limiter-flexible, and caps
 * total calls per API key. A lookup reserves one point per key before it runs (atomic in Redis, so parallel
 * guesses cannot overshoot the limit) and refunds it when the code turned out real; past the limit every lookup,
 * even of a correct code, is refused until the window passes. The calling server's own address is never a key.
 */
export class GuessingDefence {
  readonly #byIp: RateLimiterRedis;
  readonly #byCustomer: RateLimiterRedis;
  readonly #byApiKey: RateLimiterRedis;
  readonly #logger: Logger;

  constructor(redis: Redis, config: Config, logger: Logger) {
    this.#logger = logger;
    const guesses = { points: config.GUESS_LIMIT, duration: config.GUESS_WINDOW_SECONDS };
    const calls = { points: config.VALIDATION_API_KEY_LIMIT, duration: config.VALIDATION_API_KEY_WINDOW_SECONDS };
    // If Redis is unreachable, each process keeps counting in memory instead of failing checkout or opening the gate.
    const limiter = (name: string, opts: { points: number; duration: number }) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${config.QUEUE_PREFIX}:guess:${name}`,
        ...opts,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${name}-insurance`, ...opts }),
      });
    this.#byIp = limiter('ip', guesses);
    this.#byCustomer = limiter('customer', guesses);
    this.#byApiKey = limiter('apikey', calls);
  }

  /** Counts the call against the API key's cap and reserves a guess for the shopper; throws a RateLimitedError past either. */
  async admit(apiKeyId: string, shopper: Shopper): Promise<GuessTicket> {
    const keys: GuessTicket['keys'] = [];
    if (shopper.ip) keys.push({ limiter: this.#byIp, key: shopper.ip });
    if (shopper.customerId) keys.push({ limiter: this.#byCustomer, key: shopper.customerId });
    // One round trip's worth of latency: the API-key count and the guess reservations go to Redis together.
    const [call, ...results] = await Promise.allSettled([
      this.#byApiKey.consume(apiKeyId),
      ...keys.map(({ limiter, key }) => limiter.consume(key)),
    ]);
    const refused = results.find((r) => r.status === 'rejected');
    if (call?.status === 'rejected' || refused) {
      // Give back what was reserved under keys that are not over their limit.
      await Promise.all(
        results.map((r, i) => (r.status === 'fulfilled' ? this.#refund(keys[i] as GuessTicket['keys'][number]) : undefined)),
      );
      if (call?.status === 'rejected')
        throw this.#limited(call.reason, 'rate_limited', 'Too many validation calls for this API key; slow down.');
      throw this.#limited(refused?.reason, 'too_many_guesses', 'Too many failed code lookups; try again later.');
    }
    return { keys, settled: false };
  }

  /** After the lookup: a guess keeps its points (and is counted per campaign); anything else is refunded. */
  async settle(ticket: GuessTicket, outcome: { guess: boolean; campaignId?: string | null }): Promise<void> {
    if (ticket.settled) return;
    ticket.settled = true;
    if (outcome.guess) {
      guessFailures.inc({ campaign_id: outcome.campaignId ?? 'unknown' });
      return;
    }
    await Promise.all(ticket.keys.map((k) => this.#refund(k)));
  }

  async #refund({ limiter, key }: GuessTicket['keys'][number]): Promise<void> {
    await limiter.reward(key, 1).catch((error: Error) => this.#logger.warn({ err: error.message }, 'guess refund failed'));
  }

  #limited(error: unknown, code: string, message: string): Error {
    if (error instanceof RateLimiterRes) {
      return new RateLimitedError(code, message, Math.max(1, Math.ceil(error.msBeforeNext / 1000)));
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The shopper's IP: the first address in the configured forwarding header, as the calling server set it. */
export function shopperIp(headerValue: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(headerValue) ? headerValue[0] : headerValue;
  const first = raw?.split(',')[0]?.trim();
  return first ? first.slice(0, 64) : undefined;
}

const instances = new WeakMap<object, GuessingDefence>();

/** One defence per platform, shared by the validation and redemption routes. */
export function guessingDefenceFor(platform: { redis: Redis; config: Config; logger: Logger }): GuessingDefence {
  let defence = instances.get(platform);
  if (!defence) {
    defence = new GuessingDefence(platform.redis, platform.config, platform.logger);
    instances.set(platform, defence);
  }
  return defence;
}
