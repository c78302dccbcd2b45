import { createHmac } from 'node:crypto';
import { signedHeaders, webhookBody } from '../../webhooks/signing.ts';

/**
 * Webhook deliveries in Voucherify's format (an endpoint with `format: "voucherify"`): Voucherify's envelope, its
 * event names and its `x-voucherify-signature` (HMAC-SHA256, hex, of the exact body, keyed with the endpoint's
 * signing secret). Retries, ordering and the outbox underneath are the platform's, unchanged.
 */

/** Platform event type → Voucherify event name; types without an entry keep their own name. */
export const VOUCHERIFY_EVENT_NAMES: Record<string, string> = {
  'voucher.redemption.succeeded': 'redemption.succeeded',
  'voucher.redemption.failed': 'redemption.failed',
  'voucher.redemption.rolled_back': 'redemption.rollback.succeeded',
  'voucher.published': 'voucher.published',
  'voucher.created': 'voucher.created',
  'voucher.deleted': 'voucher.deleted',
  'voucher.updated': 'voucher.updated',
  'voucher.enabled': 'voucher.enabled',
  'voucher.disabled': 'voucher.disabled',
  'campaign.generation.completed': 'campaign.vouchers.generation.completed',
  'campaign.generation.failed': 'campaign.vouchers.generation.failed',
  'campaign.import.completed': 'campaign.vouchers.import.completed',
  'campaign.import.failed': 'campaign.vouchers.import.failed',
  'campaign.expired': 'campaign.expired',
  'customers.created': 'customer.created',
};

export interface OutboxEvent {
  id: string;
  type: string;
  created_at: Date | string;
  data: unknown;
}

/** Voucherify's envelope: `{id, project_id, created_at, type, data, source, event}`; `data.object` is the payload. */
export function voucherifyBody(event: OutboxEvent): string {
  const createdAt = new Date(event.created_at).toISOString();
  return JSON.stringify({
    id: `evcus_${event.id.replaceAll('-', '')}`,
    project_id: 'proj_promo',
    created_at: createdAt,
    type: VOUCHERIFY_EVENT_NAMES[event.type] ?? event.type,
    data: { object: event.data },
    source: { channel: 'API', type: 'promo' },
    event: { id: event.id, type: event.type, created_at: createdAt },
  });
}

/** Voucherify's signature: HMAC-SHA256 of the body with the secret, as lower-case hex. */
export function voucherifySignature(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * The body and headers of one delivery in its endpoint's format: the one call the delivery code makes. During a
 * secret rotation the standard format signs with both secrets; Voucherify's header holds one signature, the current
 * secret's.
 */
export function deliveryMessage(
  format: 'standard' | 'voucherify',
  deliveryId: string,
  event: OutboxEvent,
  secrets: string[],
  at: Date,
): { body: string; headers: Record<string, string> } {
  if (format !== 'voucherify') {
    const body = webhookBody(event);
    return { body, headers: signedHeaders(deliveryId, body, secrets, at) };
  }
  const body = voucherifyBody(event);
  return { body, headers: { 'x-voucherify-signature': voucherifySignature(body, secrets[0] as string), 'webhook-id': deliveryId } };
}
