import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/sql.ts';
import type { Role } from './roles.ts';

export type { Role };

export interface ApiKeyIdentity {
  id: string;
  name: string;
  role: Role;
}

export interface ApiKeyRecord extends ApiKeyIdentity {
  key_prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const KEY_PREFIX = 'pk_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new random key: `pk_` + 43 base64url characters (256 bits). */
export function newApiKeyValue(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export async function createApiKey(
  db: Queryable,
  input: { name: string; role: Role; value?: string },
): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = input.value ?? newApiKeyValue();
  const { rows } = await db.query<ApiKeyRecord>(
    `insert into api_keys (name, key_hash, key_prefix, role) values ($1, $2, $3, $4)
     returning id, name, role, key_prefix, created_at, last_used_at, revoked_at`,
    [input.name, hashApiKey(key), key.slice(0, 8), input.role],
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
  const { rows } = await db.query<ApiKeyRecord>(
    'select id, name, role, key_prefix, created_at, last_used_at, revoked_at from api_keys order by created_at',
  );
  return rows;
}

export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('update api_keys set revoked_at = now() where id = $1 and revoked_at is null', [id]);
  return rowCount === 1;
}

const CACHE_TTL_MS = 10_000;

/**
 * Resolves a presented key to its identity. Hits are cached briefly so checkout traffic
 * does not pay a database round trip per request; a revocation takes effect within the TTL.
 */
export class ApiKeyAuthenticator {
  readonly #db: Queryable;
  readonly #cache = new Map<string, { identity: ApiKeyIdentity | null; expires: number }>();

  constructor(db: Queryable) {
    this.#db = db;
  }

  async authenticate(key: string): Promise<ApiKeyIdentity | null> {
    // Cached by the presented value (which this process holds while it serves the request anyway), so a
    // cached call does not even pay the hash.
    const now = Date.now();
    const cached = this.#cache.get(key);
    if (cached && cached.expires > now) return cached.identity;
    const { rows } = await this.#db.query<ApiKeyIdentity>(
      `update api_keys set last_used_at = now() where key_hash = $1 and revoked_at is null returning id, name, role`,
      [hashApiKey(key)],
    );
    const identity = rows[0] ?? null;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(key, { identity, expires: now + CACHE_TTL_MS });
    return identity;
  }

  forget(): void {
    this.#cache.clear();
  }
}
