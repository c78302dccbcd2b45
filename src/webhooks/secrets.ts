import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Config } from '../../config/index.ts';

/** Development-only key: derived from a fixed string so a laptop works without setup; production must set its own. */
const DEV_KEY = createHash('sha256').update('promo development webhook secret key; never use in production').digest();

/**
 * The AES-256 key for webhook signing secrets at rest: WEBHOOK_SECRET_ENCRYPTION_KEY as 64 hex characters or
 * base64 of 32 bytes. Production refuses to start without one.
 */
export function secretEncryptionKey(config: Config): Buffer {
  const raw = config.WEBHOOK_SECRET_ENCRYPTION_KEY;
  if (!raw) {
    if (config.NODE_ENV === 'production')
      throw new Error('WEBHOOK_SECRET_ENCRYPTION_KEY must be set in production (32 bytes, hex or base64)');
    return DEV_KEY;
  }
  return parseKey(raw, 'WEBHOOK_SECRET_ENCRYPTION_KEY');
}

/**
 * Every key a stored secret may be encrypted under, current first: WEBHOOK_SECRET_ENCRYPTION_KEY, then the
 * comma-separated WEBHOOK_SECRET_ENCRYPTION_KEY_PREVIOUS kept while a key change is rolled out.
 */
export function secretDecryptionKeys(config: Config): Buffer[] {
  const previous = (config.WEBHOOK_SECRET_ENCRYPTION_KEY_PREVIOUS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => parseKey(k, 'WEBHOOK_SECRET_ENCRYPTION_KEY_PREVIOUS'));
  return [secretEncryptionKey(config), ...previous];
}

function parseKey(raw: string, name: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new Error(`${name} must be 32 bytes (64 hex characters or base64)`);
  return key;
}

/** A new Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** AES-256-GCM; stored as `v1.<iv>.<tag>.<ciphertext>` (base64url parts). */
export function encryptSecret(key: Buffer, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

const decrypted = new Map<string, string>();

/** decryptWithAnyKey with a small cache: every delivery signs, and its endpoint's secret rarely changes. */
export function cachedDecryptSecret(keys: readonly Buffer[], stored: string): string {
  let secret = decrypted.get(stored);
  if (secret === undefined) {
    secret = decryptWithAnyKey(keys, stored).secret;
    if (decrypted.size >= 1_000) decrypted.clear();
    decrypted.set(stored, secret);
  }
  return secret;
}

/** Decrypts under the first key that opens it (GCM's tag fails for any other); `keyIndex` 0 is the current key. */
export function decryptWithAnyKey(keys: readonly Buffer[], stored: string): { secret: string; keyIndex: number } {
  let failure: unknown;
  for (const [keyIndex, key] of keys.entries()) {
    try {
      return { secret: decryptSecret(key, stored), keyIndex };
    } catch (error) {
      failure = error;
    }
  }
  throw failure ?? new Error('no webhook secret key configured');
}

export function decryptSecret(key: Buffer, stored: string): string {
  const [version, iv, tag, ciphertext] = stored.split('.');
  if (version !== 'v1' || !iv || !tag || ciphertext === undefined) throw new Error('unrecognised webhook secret format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}
