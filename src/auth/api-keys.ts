import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Queryable } from '../db/sql.ts';
import { createSubscriberConnection, keyPrefix, type RedisClient, type RedisSettings } from '../queues/connection.ts';
import type { Logger } from '../shared/logger.ts';
import { type ResourceOwner, resourceKind } from '../shared/process-resources.ts';
import type { Role } from './roles.ts';

export type { Role };

export interface ApiKeyIdentity {
  id: string;
  name: string;
  role: Role;
  /** A client key's allowed browser origins; null for other roles. */
  allowed_origins?: string[] | null;
}

export interface ApiKeyRecord extends ApiKeyIdentity {
  key_prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const KEY_PREFIX = 'pk_';
const RECORD_COLUMNS = 'id, name, role, allowed_origins, key_prefix, created_at, last_used_at, revoked_at';

/** Whether some live client key lets browsers at this origin call (CORS preflights carry no key). */
export async function originAllowedForSomeClientKey(db: Queryable, origin: string): Promise<boolean> {
  const { rows } = await db.query(
    `select 1 from api_keys where role = 'client' and revoked_at is null and $1 = any(allowed_origins) limit 1`,
    [origin],
  );
  return rows.length > 0;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new random key: `pk_` + 43 base64url characters (256 bits). */
export function newApiKeyValue(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export async function createApiKey(
  db: Queryable,
  input: { name: string; role: Role; value?: string; allowed_origins?: string[] },
): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = input.value ?? newApiKeyValue();
  const { rows } = await db.query<ApiKeyRecord>(
    `insert into api_keys (name, key_hash, key_prefix, role, allowed_origins) values ($1, $2, $3, $4, $5)
     returning ${RECORD_COLUMNS}`,
    [input.name, hashApiKey(key), key.slice(0, 8), input.role, input.role === 'client' ? (input.allowed_origins ?? []) : null],
  );
  return { key, record: rows[0] as ApiKeyRecord };
}

/** Makes sure a key with this exact value exists (and is not revoked) as an admin key. */
export async function ensureBootstrapKey(db: Queryable, value: string): Promise<void> {
  await db.query(
    `insert into api_keys (name, key_hash, key_prefix, role) values ('bootstrap', $1, $2, 'admin')
     on conflict (key_hash) do update set revoked_at = null, role = 'admin'`,
    [hashApiKey(value), value.slice(0, 8)],
  );
}

export async function listApiKeys(db: Queryable): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<ApiKeyRecord>(`select ${RECORD_COLUMNS} from api_keys order by created_at`);
  return rows;
}

export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('update api_keys set revoked_at = now() where id = $1 and revoked_at is null', [id]);
  return rowCount === 1;
}

export interface AuthenticatorOptions {
  db: Queryable;
  /** Publishes revocations and heartbeats (the platform's producer connection). */
  redis: RedisClient;
  settings: RedisSettings & { API_KEY_CACHE_TTL_MS: number; API_KEY_CACHE_FALLBACK_TTL_MS: number };
  logger: Logger;
}

interface CacheEntry {
  identity: ApiKeyIdentity | null;
  /** When the database was asked (before its answer: a revocation committed after this may be missing). */
  checkedAt: number;
}

/**
 * Resolves a presented key to its identity, caching answers so checkout traffic does not pay a database round
 * trip per request, while a revocation takes effect in every process within a second:
 *
 * - a revocation is published on Redis (`<prefix>:api-keys:revoked`, the key id); every process drops that key's
 *   cached answers as the message arrives;
 * - an answer is kept for API_KEY_CACHE_TTL_MS only while this process's subscription is proven live: subscribed
 *   since before the answer was fetched, and hearing its own heartbeat (published every quarter of the fallback
 *   TTL, numbered, so a lost message shows as a gap);
 * - otherwise (Redis down, the subscriber reconnecting, a heartbeat late or missing) answers are kept for only
 *   API_KEY_CACHE_FALLBACK_TTL_MS, so a key revoked while this process cannot hear about it still stops working
 *   within that time (fails closed).
 *
 * The subscription starts with the first authentication, so processes that never serve the API open nothing.
 */
export class ApiKeyAuthenticator {
  readonly #db: Queryable;
  readonly #redis: RedisClient;
  readonly #settings: AuthenticatorOptions['settings'];
  readonly #logger: Logger;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #channel: string;
  readonly #beatChannel: string;
  #subscriber: Redis | undefined;
  #subscriberAttempts = 0;
  /** Since when the subscription has been continuously up (null: not now). */
  #liveSince: number | null = null;
  #lastBeatAt = 0;
  #beatsSent = 0;
  #beatsHeard = 0;
  #beatTimer: NodeJS.Timeout | undefined;
  /** Bumped by every invalidation, so an answer fetched across one is not cached. */
  #generation = 0;
  #closed = false;

  constructor(options: AuthenticatorOptions) {
    this.#db = options.db;
    this.#redis = options.redis;
    this.#settings = options.settings;
    this.#logger = options.logger;
    this.#channel = `${keyPrefix(options.settings)}:api-keys:revoked`;
    this.#beatChannel = `${keyPrefix(options.settings)}:api-keys:heartbeat:${randomBytes(8).toString('hex')}`;
  }

  async authenticate(key: string): Promise<ApiKeyIdentity | null> {
    if (!this.#subscriber && !this.#closed) this.#subscribe();
    // Cached by the presented value (which this process holds while it serves the request anyway), so a
    // cached call does not even pay the hash.
    const now = Date.now();
    const cached = this.#cache.get(key);
    if (cached && this.#usable(cached, now)) return cached.identity;
    const generation = this.#generation;
    const { rows } = await this.#db.query<ApiKeyIdentity>(
      `update api_keys set last_used_at = now() where key_hash = $1 and revoked_at is null returning id, name, role, allowed_origins`,
      [hashApiKey(key)],
    );
    const identity = rows[0] ?? null;
    if (generation === this.#generation) {
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(key, { identity, checkedAt: now });
    }
    return identity;
  }

  /** Revokes the key in the database, forgets it here at once, and tells every other process. */
  async revoke(id: string): Promise<boolean> {
    const revoked = await revokeApiKey(this.#db, id);
    if (!revoked) return false;
    this.#invalidate(id);
    void this.#announce(id);
    return true;
  }

  /** Whether a revocation published now would reach this process (for tests and readiness reasoning). */
  get live(): boolean {
    return this.#isLive(Date.now());
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#beatTimer);
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    this.#liveSince = null;
    subscriber?.disconnect();
  }

  #usable(entry: CacheEntry, now: number): boolean {
    const age = now - entry.checkedAt;
    if (age < this.#settings.API_KEY_CACHE_FALLBACK_TTL_MS) return true;
    if (age >= this.#settings.API_KEY_CACHE_TTL_MS || !this.#isLive(now)) return false;
    return entry.checkedAt >= (this.#liveSince as number);
  }

  #isLive(now: number): boolean {
    return this.#liveSince !== null && now - this.#lastBeatAt < this.#settings.API_KEY_CACHE_FALLBACK_TTL_MS;
  }

  #invalidate(id: string): void {
    this.#generation += 1;
    for (const [key, entry] of this.#cache) if (entry.identity?.id === id) this.#cache.delete(key);
  }

  /** Publishes the revocation, retrying while it fails: a process that missed it still drops the key within the TTL. */
  async #announce(id: string): Promise<void> {
    const deadline = Date.now() + this.#settings.API_KEY_CACHE_TTL_MS;
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        await this.#redis.publish(this.#channel, id);
        return;
      } catch (error) {
        if (attempt === 0) {
          this.#logger.warn(
            { err: (error as Error).message, keyId: id },
            'api key revocation not published; other processes drop the key within API_KEY_CACHE_FALLBACK_TTL_MS while they cannot hear Redis, at most API_KEY_CACHE_TTL_MS; retrying',
          );
        }
        if (Date.now() > deadline) return;
        await new Promise((resolve) => setTimeout(resolve, 200).unref());
      }
    }
  }

  #subscribe(): void {
    const subscriber = createSubscriberConnection(this.#settings, this.#subscriberAttempts, {
      // A cluster node that stays away is given up on after a few tries: the next connection goes to another seed.
      retryStrategy: (times) => (times > 5 ? null : Math.min(times * 200, 1_000)),
      maxRetriesPerRequest: null,
      autoResubscribe: false,
      connectionName: 'promo-api-key-revocations',
    });
    this.#subscriber = subscriber;
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
    subscriber.on('ready', () => {
      subscriber.subscribe(this.#channel, this.#beatChannel).then(
        () => {
          if (this.#subscriber !== subscriber) return;
          this.#liveSince = Date.now();
          this.#beat();
        },
        () => subscriber.disconnect(true),
      );
    });
    subscriber.on('close', () => {
      if (this.#subscriber === subscriber) this.#liveSince = null;
    });
    subscriber.on('end', () => {
      if (this.#subscriber !== subscriber || this.#closed) return;
      this.#subscriberAttempts += 1;
      this.#subscriber = undefined;
      const retry = setTimeout(() => {
        if (!this.#closed && !this.#subscriber) this.#subscribe();
      }, 1_000);
      retry.unref();
    });
    if (!this.#beatTimer) {
      this.#beatTimer = setInterval(() => this.#beat(), Math.max(50, Math.floor(this.#settings.API_KEY_CACHE_FALLBACK_TTL_MS / 4)));
      this.#beatTimer.unref();
    }
  }

  #beat(): void {
    if (this.#liveSince === null) return;
    this.#beatsSent += 1;
    this.#redis.publish(this.#beatChannel, String(this.#beatsSent)).catch(() => undefined);
  }

  #onMessage(channel: string, message: string): void {
    if (channel === this.#channel) {
      this.#invalidate(message);
      return;
    }
    if (channel !== this.#beatChannel) return;
    const heard = Number(message);
    const now = Date.now();
    // A heartbeat skipped means a message may have been lost: answers fetched before now are no longer covered.
    if (heard !== this.#beatsHeard + 1 && this.#liveSince !== null) this.#liveSince = now;
    this.#beatsHeard = heard;
    this.#lastBeatAt = now;
  }
}

interface AuthenticatorPlatform {
  db: Queryable;
  redis: RedisClient;
  config: AuthenticatorOptions['settings'];
  logger: Logger;
  resources: ResourceOwner<AuthenticatorPlatform>;
}

const apiKeyAuthenticator = resourceKind(
  'api key authenticator',
  (p: AuthenticatorPlatform) => new ApiKeyAuthenticator({ db: p.db, redis: p.redis, settings: p.config, logger: p.logger }),
);

/** The platform's one authenticator (its cache and its revocation subscription), closed with the platform. */
export function apiKeyAuthenticatorFor(platform: AuthenticatorPlatform): ApiKeyAuthenticator {
  return platform.resources.get(apiKeyAuthenticator);
}
