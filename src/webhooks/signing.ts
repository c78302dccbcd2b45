import { Webhook } from 'standardwebhooks';

/** The JSON body every delivery carries; identical on every attempt, so only the timestamp changes the signature. */
export function webhookBody(event: { id: string; type: string; created_at: Date | string; data: unknown }): string {
  const createdAt = event.created_at instanceof Date ? event.created_at.toISOString() : new Date(event.created_at).toISOString();
  return JSON.stringify({ id: event.id, type: event.type, created_at: createdAt, data: event.data });
}

/**
 * Standard Webhooks headers. During a secret rotation both secrets sign (space-separated `v1,` signatures), so a
 * receiver verifying with either the old or the new secret accepts the message.
 */
export function signedHeaders(webhookId: string, body: string, secrets: string[], at: Date): Record<string, string> {
  const signature = secrets.map((secret) => new Webhook(secret).sign(webhookId, at, body)).join(' ');
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
