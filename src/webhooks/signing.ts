import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** The JSON body every delivery carries; identical on every attempt, so only the timestamp changes the signature. */
export function webhookBody(event: { id: string; type: string; created_at: Date | string; data: unknown }): string {
  const createdAt = event.created_at instanceof Date ? event.created_at.toISOString() : new Date(event.created_at).toISOString();
  return JSON.stringify({ id: event.id, type: event.type, created_at: createdAt, data: event.data });
}

const SECRET_PREFIX = 'whsec_';

/** Decoded keys by secret: a key object made once per secret, not once per message. */
const keys = new Map<string, KeyObject>();
const MAX_KEYS = 1_000;

/** A `whsec_…` secret's key, as Standard Webhooks decodes it (base64 after the prefix). */
function signingKey(secret: string): KeyObject {
  const known = keys.get(secret);
  if (known) return known;
  const bytes = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  if (bytes.length === 0) throw new Error("Secret can't be empty.");
  if (keys.size >= MAX_KEYS) keys.clear();
  const key = createSecretKey(bytes);
  keys.set(secret, key);
  return key;
}

/**
 * Standard Webhooks headers: `v1,` base64 HMAC-SHA256 of `id.timestamp.body` (node:crypto's native HMAC, the same
 * bytes the standardwebhooks library computes in JavaScript, at a fraction of the CPU). During a secret rotation
 * both secrets sign (space-separated `v1,` signatures), so a receiver verifying with either accepts the message.
 */
export function signedHeaders(webhookId: string, body: string, secrets: string[], at: Date): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const signed = `${webhookId}.${timestamp}.${body}`;
  const signature = secrets.map((secret) => `v1,${createHmac('sha256', signingKey(secret)).update(signed).digest('base64')}`).join(' ');
  return { 'webhook-id': webhookId, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
}
