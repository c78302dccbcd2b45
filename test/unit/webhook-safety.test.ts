import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { retryDelay } from '../../src/webhooks/deliveries.ts';
import { matchesEvent } from '../../src/webhooks/endpoints.ts';
import { parseRetryAfter } from '../../src/webhooks/http-client.ts';
import { decryptSecret, encryptSecret, generateSigningSecret, secretEncryptionKey } from '../../src/webhooks/secrets.ts';
import { signedHeaders, webhookBody } from '../../src/webhooks/signing.ts';
import { isBlockedAddress } from '../../src/webhooks/url-safety.ts';

describe('webhook address policy', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.5',
    '172.16.3.4',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '64:ff9b::a00:1',
    '2002:c0a8:0101::1',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });
});

describe('retry schedule', () => {
  const delays = [5_000, 300_000, 1_800_000];
  it('follows the configured delays with ±20% jitter, then stops', () => {
    expect(retryDelay(delays, 1, undefined, () => 0)).toBe(4_000);
    expect(retryDelay(delays, 1, undefined, () => 1)).toBe(6_000);
    expect(retryDelay(delays, 2, undefined, () => 0.5)).toBe(300_000);
    expect(retryDelay(delays, 3, undefined, () => 0.5)).toBe(1_800_000);
    expect(retryDelay(delays, 4)).toBeUndefined();
  });
  it('waits at least as long as Retry-After asks, capped at a day', () => {
    expect(retryDelay(delays, 1, 60_000, () => 0.5)).toBe(60_000);
    expect(retryDelay(delays, 2, 1_000, () => 0.5)).toBe(300_000);
    expect(retryDelay(delays, 1, 10 * 24 * 3600 * 1000, () => 0.5)).toBe(24 * 3600 * 1000);
  });
  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
  it('reads WEBHOOK_RETRY_DELAYS_MS as a comma-separated list with the documented default', () => {
    expect(loadConfig({}).WEBHOOK_RETRY_DELAYS_MS).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(loadConfig({ WEBHOOK_RETRY_DELAYS_MS: '100, 200,300' }).WEBHOOK_RETRY_DELAYS_MS).toEqual([100, 200, 300]);
    expect(() => loadConfig({ WEBHOOK_RETRY_DELAYS_MS: '5s,5m' })).toThrow(/WEBHOOK_RETRY_DELAYS_MS/);
  });
});

describe('event filters', () => {
  it('matches exact types, families and everything', () => {
    expect(matchesEvent(['*'], 'voucher.published')).toBe(true);
    expect(matchesEvent(['voucher.published'], 'voucher.published')).toBe(true);
    expect(matchesEvent(['voucher.published'], 'voucher.expired')).toBe(false);
    expect(matchesEvent(['voucher.redemption.*'], 'voucher.redemption.rolled_back')).toBe(true);
    expect(matchesEvent(['voucher.*'], 'vouchers.created')).toBe(false);
  });
});

describe('secrets and signatures', () => {
  const config = loadConfig({ WEBHOOK_SECRET_ENCRYPTION_KEY: 'a'.repeat(64) });

  it('encrypts secrets with AES-256-GCM and detects tampering', () => {
    const key = secretEncryptionKey(config);
    const secret = generateSigningSecret();
    const stored = encryptSecret(key, secret);
    expect(stored).not.toContain(secret.slice(6));
    expect(decryptSecret(key, stored)).toBe(secret);
    expect(encryptSecret(key, secret)).not.toBe(stored); // a fresh IV each time
    const [v, iv, tag, ct] = stored.split('.');
    const flipped = `${v}.${iv}.${tag}.${(ct as string).startsWith('A') ? 'B' : 'A'}${(ct as string).slice(1)}`;
    expect(() => decryptSecret(key, flipped)).toThrow();
    expect(() => decryptSecret(secretEncryptionKey(loadConfig({ WEBHOOK_SECRET_ENCRYPTION_KEY: 'b'.repeat(64) })), stored)).toThrow();
  });

  it('requires a key in production and rejects one of the wrong size', () => {
    expect(() => secretEncryptionKey(loadConfig({ NODE_ENV: 'production' }))).toThrow(/WEBHOOK_SECRET_ENCRYPTION_KEY/);
    expect(() => secretEncryptionKey(loadConfig({ WEBHOOK_SECRET_ENCRYPTION_KEY: 'short' }))).toThrow(/32 bytes/);
    expect(secretEncryptionKey(loadConfig({ WEBHOOK_SECRET_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') }))).toHaveLength(32);
  });

  it('produces headers that standardwebhooks verifies, with either secret during a rotation', () => {
    const oldSecret = generateSigningSecret();
    const newSecret = generateSigningSecret();
    const body = webhookBody({ id: 'evt', type: 'voucher.published', created_at: '2026-01-01T00:00:00Z', data: { code: 'A' } });
    expect(JSON.parse(body)).toEqual({ id: 'evt', type: 'voucher.published', created_at: '2026-01-01T00:00:00.000Z', data: { code: 'A' } });
    const headers = signedHeaders('msg_1', body, [newSecret, oldSecret], new Date());
    expect(new Webhook(newSecret).verify(body, headers)).toMatchObject({ id: 'evt' });
    expect(new Webhook(oldSecret).verify(body, headers)).toMatchObject({ id: 'evt' });
    expect(() => new Webhook(generateSigningSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(newSecret).verify(`${body} `, headers)).toThrow();
  });
});
