import type { z } from 'zod';
import { rowById } from '../db/sql.ts';
import type { Platform } from '../platform.ts';
import { NotFoundError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { isUuid } from '../shared/uuid.ts';
import type { CreateWebhookInput, endpointViewSchema, UpdateWebhookInput } from './schemas.ts';
import { encryptSecret, generateSigningSecret, secretEncryptionKey } from './secrets.ts';
import { ms, type Timestamp } from './time.ts';
import { assertWebhookUrlAllowed } from './url-safety.ts';

/** How long a rotated-out secret keeps signing, so receivers can switch over without dropping a message. */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

export interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  format: 'standard' | 'voucherify';
  disabled_reason: string | null;
  disabled_at: Timestamp | null;
  failing_since: Timestamp | null;
  previous_secret_expires_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

const COLUMNS =
  'id, url, description, events, enabled, format, disabled_reason, disabled_at, failing_since, previous_secret_expires_at, created_at, updated_at';

/** The public shape: never the secret. */
export function endpointView(row: EndpointRow, now: Date): z.output<typeof endpointViewSchema> {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    enabled: row.enabled,
    format: row.format,
    disabled_reason: row.disabled_reason as z.output<typeof endpointViewSchema>['disabled_reason'],
    disabled_at: isoTime(row.disabled_at),
    failing_since: isoTime(row.failing_since),
    previous_secret_expires_at:
      row.previous_secret_expires_at && ms(row.previous_secret_expires_at) > now.getTime() ? isoTime(row.previous_secret_expires_at) : null,
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
  };
}

function urlPolicy(platform: Platform) {
  return {
    production: platform.config.NODE_ENV === 'production',
    allowPrivateNetworks: platform.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
  };
}

/** Registers an endpoint; the returned secret is the only time it leaves the platform in clear. */
export async function createEndpoint(platform: Platform, input: CreateWebhookInput): Promise<{ endpoint: EndpointRow; secret: string }> {
  const url = await assertWebhookUrlAllowed(input.url, urlPolicy(platform));
  const secret = generateSigningSecret();
  const now = platform.clock.now();
  const { rows } = await platform.db.query<EndpointRow>(
    `insert into webhook_endpoints (url, description, events, enabled, secret_encrypted, created_at, updated_at, format)
     values ($1, $2, $3, $4, $5, $6, $6, $7) returning ${COLUMNS}`,
    [
      url.toString(),
      input.description ?? null,
      [...new Set(input.events)],
      input.enabled ?? true,
      encryptSecret(secretEncryptionKey(platform.config), secret),
      now,
      input.format ?? 'standard',
    ],
  );
  return { endpoint: rows[0] as EndpointRow, secret };
}

export async function getEndpoint(platform: Platform, id: string): Promise<EndpointRow> {
  return rowById<EndpointRow>(platform.db, 'webhook_endpoints', 'webhook', id, COLUMNS);
}

export async function listEndpoints(platform: Platform): Promise<EndpointRow[]> {
  const { rows } = await platform.db.query<EndpointRow>(`select ${COLUMNS} from webhook_endpoints order by created_at, id`);
  return rows;
}

/** Re-enabling clears the failure state, so the 5-day clock starts again. */
export async function updateEndpoint(platform: Platform, id: string, input: UpdateWebhookInput): Promise<EndpointRow> {
  await getEndpoint(platform, id);
  const url = input.url === undefined ? undefined : (await assertWebhookUrlAllowed(input.url, urlPolicy(platform))).toString();
  const { rows } = await platform.db.query<EndpointRow>(
    `update webhook_endpoints set
        url = coalesce($2, url),
        events = coalesce($3, events),
        description = case when $4::boolean then $5 else description end,
        enabled = coalesce($6, enabled),
        disabled_reason = case when $6 is true then null when $6 is false and enabled then 'manual' else disabled_reason end,
        disabled_at = case when $6 is true then null when $6 is false and enabled then $7 else disabled_at end,
        failing_since = case when $6 is true then null else failing_since end,
        format = coalesce($8, format),
        updated_at = $7
      where id = $1 returning ${COLUMNS}`,
    [
      id,
      url ?? null,
      input.events ? [...new Set(input.events)] : null,
      input.description !== undefined,
      input.description ?? null,
      input.enabled ?? null,
      platform.clock.now(),
      input.format ?? null,
    ],
  );
  if (!rows[0]) throw new NotFoundError('webhook', id);
  return rows[0];
}

export async function deleteEndpoint(platform: Platform, id: string): Promise<void> {
  if (!isUuid(id)) throw new NotFoundError('webhook', id);
  const { rowCount } = await platform.db.query('delete from webhook_endpoints where id = $1', [id]);
  if (rowCount === 0) throw new NotFoundError('webhook', id);
}

/** A new secret signs from now on; the old one also signs for 24 hours (both signatures in one header). */
export async function rotateSecret(platform: Platform, id: string): Promise<{ endpoint: EndpointRow; secret: string }> {
  await getEndpoint(platform, id);
  const secret = generateSigningSecret();
  const now = platform.clock.now();
  const { rows } = await platform.db.query<EndpointRow>(
    `update webhook_endpoints set previous_secret_encrypted = secret_encrypted, previous_secret_expires_at = $3,
            secret_encrypted = $2, updated_at = $4
      where id = $1 returning ${COLUMNS}`,
    [id, encryptSecret(secretEncryptionKey(platform.config), secret), new Date(now.getTime() + SECRET_ROTATION_OVERLAP_MS), now],
  );
  if (!rows[0]) throw new NotFoundError('webhook', id);
  return { endpoint: rows[0], secret };
}

/** Whether an endpoint subscribed with these filters receives an event of this type. */
export function matchesEvent(filters: readonly string[], type: string): boolean {
  return filters.some((f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))));
}
