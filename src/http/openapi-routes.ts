import { createRequire } from 'node:module';
import { z } from 'zod';
import * as authSchemas from '../auth/schemas.ts';
import * as campaignsSchemas from '../campaigns/schemas.ts';
import * as deliverySchemas from '../delivery/schemas.ts';
import { SYMBOL_CONTENT_TYPES, SYMBOL_FILES } from '../delivery/symbols.ts';
import * as distributionsSchemas from '../distributions/schemas.ts';
import * as expirySchemas from '../expiry/schemas.ts';
import * as exportsSchemas from '../exports/schemas.ts';
import * as generationsSchemas from '../generations/schemas.ts';
import * as publicationsSchemas from '../publications/schemas.ts';
import * as queuesFailedJobs from '../queues/failed-jobs.ts';
import * as redemptionsSchemas from '../redemptions/schemas.ts';
import { REFUSAL_REASONS } from '../rules/index.ts';
import * as statsSchemas from '../stats/schemas.ts';
import * as triggersSchemas from '../triggers/schemas.ts';
import * as vouchersSchemas from '../vouchers/schemas.ts';
import * as webhooksSchemas from '../webhooks/schemas.ts';
import { buildOpenApiDocument, type ResponseSpec, type RouteSpec } from './openapi.ts';
import * as campaignRoutesModule from './routes/campaigns.ts';

const ts = '2026-03-01T09:30:00.000Z';
const CAMPAIGN_ID = '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11';
const GENERATION_ID = '9a1d2c3b-4e5f-4a6b-8c7d-0e1f2a3b4c5d';

const examples = {
  campaign: {
    id: CAMPAIGN_ID,
    name: 'Spring sale',
    code_config: { pattern: 'SPRING-####-####' },
    code_template: 'SPRING-####-####',
    charset: 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789',
    allow_guessable: false,
    active: true,
    status: 'active',
    start_date: null,
    expiration_date: '2026-06-30T23:59:59.000Z',
    timezone: 'UTC',
    rules: { discount: { type: 'percent', percent_off: 15 } },
    issued_count: 1000000,
    metadata: { channel: 'newsletter' },
    created_at: ts,
    updated_at: ts,
  },
  generation: {
    id: GENERATION_ID,
    campaign_id: CAMPAIGN_ID,
    status: 'running',
    requested: 1000000,
    generated: 350000,
    progress: 35,
    collisions: 0,
    chunk_size: 50000,
    chunk_count: 20,
    entropy_bits: 40,
    guess_probability: 9.1e-7,
    created_at: ts,
    started_at: ts,
    finished_at: null,
  },
  voucher: {
    code: 'SPRING-7KQ2-M9XD',
    campaign_id: CAMPAIGN_ID,
    generation_id: GENERATION_ID,
    status: 'active',
    active: true,
    redemption_count: 0,
    start_date: null,
    expiration_date: '2026-06-30T23:59:59.000Z',
    rules: {},
    holder_customer_id: null,
    metadata: {},
    created_at: ts,
    updated_at: ts,
  },
  apiKey: {
    id: '5d0b8c1e-2f3a-4b5c-9d6e-7f8a9b0c1d2e',
    name: 'checkout',
    role: 'standard',
    key_prefix: 'pk_Qz8Ya',
    created_at: ts,
    last_used_at: null,
    revoked_at: null,
  },
  failedJob: {
    queue: 'webhook',
    id: 'delivery-812',
    name: 'webhook.deliver',
    failed_reason: 'receiver answered 500',
    attempisoTsmade: 8,
    failed_at: ts,
    created_at: ts,
  },
  export: {
    id: '3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b',
    campaign_id: CAMPAIGN_ID,
    format: 'csv',
    filter: { status: 'active' },
    status: 'completed',
    progress: { exported_rows: 1000000, total_rows: 1000000, percent: 100 },
    file_size: 61000000,
    download_url: '/v1/exports/3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b/download',
    error: null,
    created_at: ts,
    started_at: ts,
    finished_at: ts,
    expires_at: '2026-03-08T09:30:00.000Z',
  },
};

/** Response shapes of the main resources (documentation; the routes build them in each capability's *View()). */
const isoTs = z.string().describe('ISO 8601 timestamp');
const uuid = z.string().describe('UUID');
const views = {
  campaign: z.object({
    id: uuid,
    name: z.string(),
    code_config: z.record(z.string(), z.unknown()),
    code_template: z.string().describe('The resolved pattern, # = one random character'),
    charset: z.string().describe('The alphabet random characters are drawn from'),
    allow_guessable: z.boolean(),
    active: z.boolean(),
    status: z.string(),
    start_date: isoTs.nullable(),
    expiration_date: isoTs.nullable(),
    timezone: z.string(),
    rules: z.record(z.string(), z.unknown()),
    issued_count: z.number().int(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: isoTs,
    updated_at: isoTs,
  }),
  generation: z.object({
    id: uuid,
    campaign_id: uuid,
    status: z.enum(['queued', 'running', 'completed', 'failed', 'exhausted']),
    requested: z.number().int(),
    generated: z.number().int(),
    progress: z.number().int().min(0).max(100),
    collisions: z.number().int().describe('Codes that collided with existing ones and were regenerated'),
    chunk_size: z.number().int(),
    chunk_count: z.number().int(),
    entropy_bits: z.number(),
    guess_probability: z.number().describe('Chance that one random guess hits an issued code'),
    created_at: isoTs,
    started_at: isoTs.nullable(),
    finished_at: isoTs.nullable(),
    error: z.string().optional(),
  }),
  voucher: z.object({
    code: z.string(),
    campaign_id: uuid.nullable(),
    generation_id: uuid.nullable(),
    status: z.enum(['active', 'expired']),
    active: z.boolean().describe('false when disabled'),
    redemption_count: z.number().int(),
    start_date: isoTs.nullable(),
    expiration_date: isoTs.nullable(),
    rules: z.record(z.string(), z.unknown()),
    holder_customer_id: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: isoTs,
    updated_at: isoTs,
  }),
  redemption: z.object({
    id: uuid,
    status: z.enum(['succeeded', 'rolled_back']),
    code: z.string(),
    campaign_id: uuid,
    customer: z.object({ id: z.string(), email: z.string().optional() }).nullable(),
    order: z.object({ amount: z.number().int(), currency: z.string() }).nullable(),
    discount: z.record(z.string(), z.unknown()).nullable(),
    discount_amount: z.number().int().nullable().describe('Minor units'),
    currency: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: isoTs,
    rolled_back_at: isoTs.nullable(),
    rollback_reason: z.string().nullable(),
  }),
  apiKey: z.object({
    id: uuid,
    name: z.string(),
    role: z.enum(['admin', 'standard']),
    key_prefix: z.string().describe('First characters of the key, to recognise it'),
    created_at: isoTs,
    last_used_at: isoTs.nullable(),
    revoked_at: isoTs.nullable(),
    key: z.string().optional().describe('Only in the creation response'),
  }),
  failedJob: z.object({
    queue: z.string(),
    id: z.string(),
    name: z.string(),
    failed_reason: z.string(),
    attempisoTsmade: z.number().int(),
    failed_at: isoTs.nullable(),
    created_at: isoTs.nullable(),
  }),
  export: z.object({
    id: uuid,
    campaign_id: uuid,
    format: z.literal('csv'),
    filter: z.record(z.string(), z.unknown()),
    status: z.enum(['queued', 'running', 'completed', 'failed', 'expired']),
    progress: z.object({ exported_rows: z.number().int(), total_rows: z.number().int().nullable(), percent: z.number().int() }),
    file_size: z.number().int().nullable(),
    download_url: z.string().nullable(),
    error: z.string().nullable(),
    created_at: isoTs,
    started_at: isoTs.nullable(),
    finished_at: isoTs.nullable(),
    expires_at: isoTs.nullable(),
  }),
};
const one = (description: string, schema: z.ZodType, example: unknown): ResponseSpec => ({ description, schema, example });
const list = (description: string, schema: z.ZodType, example: unknown): ResponseSpec => ({
  description,
  schema: z.object({ data: z.array(schema), next_cursor: z.string().nullable().optional() }),
  example: { data: [example], next_cursor: null },
});

const obj = (description: string, example?: unknown): ResponseSpec => ({
  description,
  schema: { type: 'object' },
  ...(example !== undefined ? { example } : {}),
});
const page = (description: string, item?: unknown): ResponseSpec => ({
  description,
  schema: {
    type: 'object',
    required: ['data'],
    properties: { data: { type: 'array', items: { type: 'object' } }, next_cursor: { type: ['string', 'null'] } },
  },
  ...(item !== undefined ? { example: { data: [item], next_cursor: null } } : {}),
});
const noContent: ResponseSpec = { description: 'Done; no body.' };
const location = { Location: { description: 'URL of the created resource', schema: { type: 'string' } } };
const replayed = {
  'Idempotent-Replayed': {
    description: '`true` when an earlier request with the same Idempotency-Key answered',
    schema: { type: 'string' },
  },
};
const image = (type: string): ResponseSpec => ({
  description: `The code as ${type}`,
  content: { [type]: { schema: { type: 'string', ...(type.includes('png') ? { contentMediaType: 'image/png' } : {}) } } },
});

const ID = { id: 'Resource id (UUID)' };
const CODE = { code: 'Voucher code (case-insensitive)' };

/**
 * A request schema exported by a capability. Looked up when the document is built (not at import), so a renamed
 * export breaks /openapi.json and its test, never the platform's startup.
 */
function refusalReasons(): readonly string[] {
  return REFUSAL_REASONS;
}

function zodExport(module: object, name: string): z.ZodType {
  const value = (module as Record<string, unknown>)[name];
  if (typeof value !== 'object' || value === null || !('_zod' in value)) throw new Error(`OpenAPI: no zod schema exported as ${name}`);
  return value as z.ZodType;
}

/** Every HTTP route of the platform. The openapi test fails when express has a route this list lacks. */
export function routeSpecs(): RouteSpec[] {
  return [
    // operations
    {
      method: 'get',
      path: '/healthz',
      tag: 'operations',
      auth: 'none',
      summary: 'Liveness: the process is up',
      responses: { 200: obj('Up', { status: 'ok' }) },
    },
    {
      method: 'get',
      path: '/readyz',
      tag: 'operations',
      auth: 'none',
      summary: 'Readiness: PostgreSQL and Redis answer',
      responses: {
        200: obj('Ready', { status: 'ok', checks: { postgres: 'ok', redis: 'ok' } }),
        503: obj('Not ready', { status: 'unavailable', checks: { postgres: 'ok', redis: 'connect ECONNREFUSED' } }),
      },
    },
    {
      method: 'get',
      path: '/metrics',
      tag: 'operations',
      summary: 'Prometheus metrics (when METRICS_PORT is not set)',
      description:
        'Text exposition format. With METRICS_PORT set, metrics move to that port without authentication and this route is absent.',
      responses: {
        200: {
          description: 'Metrics',
          content: { 'text/plain': { schema: { type: 'string' }, example: 'promo_codes_generated_total 1000000\n' } },
        },
      },
    },
    {
      method: 'get',
      path: '/openapi.json',
      tag: 'operations',
      auth: 'none',
      summary: 'This OpenAPI 3.1 document',
      responses: { 200: { description: 'The document', schema: { type: 'object' } } },
    },
    {
      method: 'get',
      path: '/docs',
      tag: 'operations',
      auth: 'none',
      summary: 'Browsable API reference (HTML)',
      responses: {
        200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
        301: { description: 'Redirect to /docs/' },
      },
    },
    {
      method: 'get',
      path: '/admin/queues',
      tag: 'operations',
      auth: 'basic',
      summary: 'Bull Board: every queue, its jobs and progress (admin key as Basic password)',
      errors: [403],
      responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
    {
      method: 'get',
      path: '/admin/stats',
      tag: 'operations',
      auth: 'basic',
      summary: 'Statistics page (admin key as Basic password)',
      // The page reads these by hand (src/http/admin-stats.ts); documented here.
      query: z.object({
        days: z.number().int().min(1).max(366).default(30).optional().describe('How many days of history'),
        campaign: z.string().optional().describe('A campaign id to focus on'),
        timezone: z.string().optional().describe('IANA time zone for day boundaries (default REPORT_TIMEZONE)'),
      }),
      errors: [403],
      responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
    },

    // api keys and jobs (admin)
    {
      method: 'post',
      path: '/v1/api-keys',
      tag: 'api keys',
      auth: 'admin',
      summary: 'Create an API key (its value is returned once)',
      body: zodExport(authSchemas, 'createApiKeySchema'),
      bodyExample: { name: 'checkout', role: 'standard' },
      responses: {
        201: { ...one('Created; `key` is shown only now', views.apiKey, { ...examples.apiKey, key: 'pk_Qz8Ya…' }), headers: location },
      },
    },
    {
      method: 'get',
      path: '/v1/api-keys',
      tag: 'api keys',
      auth: 'admin',
      summary: 'List API keys (prefix only, never the value)',
      responses: { 200: list('Keys', views.apiKey, examples.apiKey) },
    },
    {
      method: 'delete',
      path: '/v1/api-keys/:id',
      tag: 'api keys',
      auth: 'admin',
      params: ID,
      summary: 'Revoke an API key',
      responses: { 204: noContent },
    },
    {
      method: 'get',
      path: '/v1/jobs/failed',
      tag: 'jobs',
      auth: 'admin',
      summary: 'Jobs that failed after all retries, across queues',
      query: zodExport(queuesFailedJobs, 'failedJobsQuery'),
      responses: { 200: list('Failed jobs, newest first', views.failedJob, examples.failedJob) },
    },
    {
      method: 'post',
      path: '/v1/jobs/failed/retry',
      tag: 'jobs',
      auth: 'admin',
      summary: 'Retry every failed job (of one queue or all)',
      query: zodExport(queuesFailedJobs, 'retryFailedQuery'),
      responses: { 202: obj('Retried, per queue', { retried: { webhook: 3, 'delivery-email': 0 }, total: 3 }) },
    },
    {
      method: 'post',
      path: '/v1/jobs/:queue/:id/retry',
      tag: 'jobs',
      auth: 'admin',
      params: { queue: 'Queue name', id: 'Job id' },
      summary: 'Retry one failed job',
      errors: [409],
      responses: { 202: obj('Moved back to waiting', { ...examples.failedJob, status: 'retried' }) },
    },

    // campaigns and generation
    {
      method: 'post',
      path: '/v1/campaigns',
      tag: 'campaigns',
      summary: 'Create a campaign',
      body: zodExport(campaignsSchemas, 'createCampaignSchema'),
      bodyExample: { name: 'Spring sale', code_config: { pattern: 'SPRING-####-####' }, metadata: { channel: 'newsletter' } },
      responses: { 201: { ...one('Created', views.campaign, examples.campaign), headers: location } },
    },
    {
      method: 'get',
      path: '/v1/campaigns',
      tag: 'campaigns',
      summary: 'List campaigns',
      query: zodExport(campaignRoutesModule, 'pageQuery'),
      responses: { 200: list('Campaigns', views.campaign, examples.campaign) },
    },
    {
      method: 'get',
      path: '/v1/campaigns/:id',
      tag: 'campaigns',
      params: ID,
      summary: 'Get a campaign',
      responses: { 200: one('The campaign', views.campaign, examples.campaign) },
    },
    {
      method: 'patch',
      path: '/v1/campaigns/:id',
      tag: 'campaigns',
      params: ID,
      summary: 'Update a campaign (dates, rules, active, metadata)',
      body: zodExport(campaignsSchemas, 'updateCampaignSchema'),
      errors: [409, 422],
      responses: { 200: one('Updated', views.campaign, examples.campaign) },
    },
    {
      method: 'post',
      path: '/v1/campaigns/:id/generations',
      tag: 'generation',
      params: ID,
      idempotent: true,
      summary: 'Generate codes (asynchronous; follow with GET /v1/generations/{id})',
      body: zodExport(generationsSchemas, 'createGenerationSchema'),
      bodyExample: { count: 1000000 },
      errors: [409, 422],
      responses: {
        202: {
          ...one('Accepted', views.generation, { ...examples.generation, status: 'queued', generated: 0, progress: 0 }),
          headers: { ...location, ...replayed },
        },
      },
    },
    {
      method: 'get',
      path: '/v1/generations/:id',
      tag: 'generation',
      params: ID,
      summary: 'Generation status and progress',
      responses: { 200: one('queued | running | completed | failed | exhausted', views.generation, examples.generation) },
    },
    {
      method: 'get',
      path: '/v1/campaigns/:id/vouchers',
      tag: 'vouchers',
      params: ID,
      summary: "A campaign's codes, by cursor",
      query: zodExport(campaignRoutesModule, 'pageQuery'),
      responses: { 200: list('Codes', views.voucher, examples.voucher) },
    },

    // vouchers
    {
      method: 'get',
      path: '/v1/vouchers',
      tag: 'vouchers',
      summary: 'Search vouchers',
      query: zodExport(vouchersSchemas, 'listVouchersQuery'),
      responses: { 200: list('Vouchers', views.voucher, examples.voucher) },
    },
    {
      method: 'post',
      path: '/v1/vouchers',
      tag: 'vouchers',
      summary: 'Create a single voucher with a chosen code',
      body: zodExport(vouchersSchemas, 'createVoucherSchema'),
      errors: [409, 422],
      responses: { 201: { ...one('Created', views.voucher, examples.voucher), headers: location } },
    },
    {
      method: 'get',
      path: '/v1/vouchers/:code',
      tag: 'vouchers',
      params: CODE,
      summary: 'Look a code up',
      errors: [429],
      responses: { 200: one('The voucher', views.voucher, examples.voucher) },
    },
    {
      method: 'patch',
      path: '/v1/vouchers/:code',
      tag: 'vouchers',
      params: CODE,
      summary: "Update a voucher's dates, rules or metadata",
      body: zodExport(vouchersSchemas, 'updateVoucherSchema'),
      errors: [409, 422],
      responses: { 200: one('Updated', views.voucher, examples.voucher) },
    },
    {
      method: 'post',
      path: '/v1/vouchers/:code/disable',
      tag: 'vouchers',
      params: CODE,
      summary: 'Disable a voucher',
      body: zodExport(vouchersSchemas, 'setActiveSchema'),
      responses: { 200: obj('Disabled', { ...examples.voucher, active: false }) },
    },
    {
      method: 'post',
      path: '/v1/vouchers/:code/enable',
      tag: 'vouchers',
      params: CODE,
      summary: 'Enable a voucher',
      body: zodExport(vouchersSchemas, 'setActiveSchema'),
      responses: { 200: obj('Enabled', examples.voucher) },
    },
    {
      method: 'get',
      path: '/v1/vouchers/:code/events',
      tag: 'vouchers',
      params: CODE,
      summary: "A voucher's lifecycle events",
      query: zodExport(vouchersSchemas, 'eventsQuery'),
      responses: { 200: page('Events', { type: 'voucher.redeemed', actor: 'api_key:5d0b…', details: {}, created_at: ts }) },
    },
    {
      method: 'get',
      path: '/v1/vouchers/:code/qr.svg',
      tag: 'vouchers',
      params: CODE,
      summary: 'QR code (SVG)',
      responses: { 200: image('image/svg+xml'), 304: { description: 'Not modified' } },
    },
    {
      method: 'get',
      path: '/v1/vouchers/:code/qr.png',
      tag: 'vouchers',
      params: CODE,
      summary: 'QR code (PNG)',
      responses: { 200: image('image/png'), 304: { description: 'Not modified' } },
    },
    {
      method: 'get',
      path: '/v1/vouchers/:code/barcode.svg',
      tag: 'vouchers',
      params: CODE,
      summary: 'Barcode (SVG)',
      responses: { 200: image('image/svg+xml'), 304: { description: 'Not modified' } },
    },
    {
      method: 'get',
      path: '/v1/vouchers/:code/barcode.png',
      tag: 'vouchers',
      params: CODE,
      summary: 'Barcode (PNG)',
      responses: { 200: image('image/png'), 304: { description: 'Not modified' } },
    },

    ...SYMBOL_FILES.map(
      ({ kind, format }): RouteSpec => ({
        method: 'get',
        path: `/public/vouchers/:code/${kind}.${format}`,
        tag: 'vouchers',
        auth: 'none',
        params: { code: 'Voucher code, as in the signed link' },
        query: z.object({ sig: z.string().describe('The signature from the link the platform made') }),
        summary: `${kind === 'qr' ? 'QR code' : 'Barcode'} (${format.toUpperCase()}) behind a signed public link`,
        description:
          'The target of `{{ voucher.qr_url }}` / `{{ voucher.barcode_url }}` in templates when PUBLIC_LINK_SECRET is set. ' +
          'No API key; a wrong or missing signature is 404 `link_not_found`.',
        responses: { 200: image(SYMBOL_CONTENT_TYPES[format]) },
        errors: [404],
      }),
    ),

    // validation and redemption
    {
      method: 'post',
      path: '/v1/validations',
      tag: 'redemption',
      summary: 'Check a code against its rules without redeeming it',
      description: `An invalid code answers 200 with \`valid: false\` and a \`reason\`: one of ${refusalReasons()
        .map((r) => `\`${r}\``)
        .join(', ')}.`,
      body: zodExport(redemptionsSchemas, 'validationRequestSchema'),
      bodyExample: { code: 'SPRING-7KQ2-M9XD', customer: { id: 'cust_42' }, order: { amount: 5000, currency: 'EUR' } },
      errors: [429],
      responses: {
        200: obj('Valid, or not with a reason', {
          valid: true,
          code: 'SPRING-7KQ2-M9XD',
          discount: { type: 'percent', percent_off: 15, amount_off: 750, currency: 'EUR' },
          voucher: { ...examples.voucher, redemption: { per_code_limit: 1, redeemed: 0, remaining: 1 } },
        }),
      },
    },
    {
      method: 'post',
      path: '/v1/redemptions',
      tag: 'redemption',
      idempotent: true,
      summary: 'Redeem a code (atomic; refusals are 422 with the reason as `code`)',
      body: zodExport(redemptionsSchemas, 'redemptionRequestSchema'),
      bodyExample: { code: 'SPRING-7KQ2-M9XD', customer: { id: 'cust_42' }, order: { amount: 5000, currency: 'EUR' } },
      errors: [409, 429],
      responses: {
        422: {
          description: `Refused: \`code\` (and \`reason\`) is one of ${refusalReasons()
            .map((r) => `\`${r}\``)
            .join(', ')}.`,
          content: {
            'application/problem+json': {
              schema: { $ref: '#/components/schemas/Problem' },
              example: {
                type: 'urn:promo:problem:quantity_exceeded',
                title: 'Unprocessable Content',
                status: 422,
                code: 'quantity_exceeded',
                detail: 'The voucher has been redeemed as many times as it allows.',
                reason: 'quantity_exceeded',
              },
            },
          },
        },
        201: {
          ...one('Redeemed', views.redemption, {
            id: '7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
            status: 'succeeded',
            code: 'SPRING-7KQ2-M9XD',
            campaign_id: CAMPAIGN_ID,
            customer: { id: 'cust_42' },
            order: { amount: 5000, currency: 'EUR' },
            discount: { type: 'percent', percent_off: 15 },
            discount_amount: 750,
            currency: 'EUR',
            metadata: {},
            created_at: ts,
            rolled_back_at: null,
            rollback_reason: null,
          }),
          headers: { ...location, ...replayed },
        },
      },
    },
    {
      method: 'get',
      path: '/v1/redemptions',
      tag: 'redemption',
      summary: 'List redemptions',
      query: zodExport(redemptionsSchemas, 'listRedemptionsQuery'),
      responses: {
        200: {
          description: 'Redemptions, newest first',
          schema: z.object({ data: z.array(views.redemption), next_cursor: z.string().nullable() }),
        },
      },
    },
    {
      method: 'get',
      path: '/v1/redemptions/:id',
      tag: 'redemption',
      params: ID,
      summary: 'Get a redemption',
      responses: { 200: { description: 'The redemption', schema: views.redemption } },
    },
    {
      method: 'post',
      path: '/v1/redemptions/:id/rollback',
      tag: 'redemption',
      params: ID,
      summary: 'Roll a redemption back (the code can be used again)',
      body: zodExport(redemptionsSchemas, 'rollbackRequestSchema'),
      errors: [409],
      responses: { 200: obj('Rolled back') },
    },

    // publication and delivery
    {
      method: 'post',
      path: '/v1/publications',
      tag: 'publication',
      summary: 'Give a customer a code (and send it by e-mail or SMS)',
      body: zodExport(publicationsSchemas, 'createPublicationSchema'),
      errors: [409, 422],
      responses: { 201: obj('Published'), 200: obj('Already published to this customer (same code)') },
    },
    {
      method: 'get',
      path: '/v1/publications/:id',
      tag: 'publication',
      params: ID,
      summary: 'Get a publication',
      responses: { 200: obj('The publication') },
    },
    {
      method: 'get',
      path: '/v1/campaigns/:id/publishing',
      tag: 'publication',
      params: ID,
      summary: "A campaign's publishing settings",
      responses: { 200: obj('Settings') },
    },
    {
      method: 'put',
      path: '/v1/campaigns/:id/publishing',
      tag: 'publication',
      params: ID,
      summary: "Set a campaign's publishing settings",
      body: zodExport(publicationsSchemas, 'publishingSettingsSchema'),
      responses: { 200: obj('Settings') },
    },
    {
      method: 'get',
      path: '/v1/deliveries/:id',
      tag: 'publication',
      params: ID,
      summary: 'E-mail/SMS delivery status',
      responses: { 200: obj('The delivery') },
    },
    {
      method: 'post',
      path: '/v1/templates',
      tag: 'templates',
      summary: 'Create a message template',
      body: zodExport(deliverySchemas, 'createTemplateSchema'),
      responses: { 201: { ...obj('Created'), headers: location } },
    },
    { method: 'get', path: '/v1/templates', tag: 'templates', summary: 'List templates', responses: { 200: page('Templates') } },
    {
      method: 'get',
      path: '/v1/templates/:id',
      tag: 'templates',
      params: ID,
      summary: 'Get a template',
      responses: { 200: obj('The template') },
    },
    {
      method: 'put',
      path: '/v1/templates/:id',
      tag: 'templates',
      params: ID,
      summary: 'Replace a template',
      body: zodExport(deliverySchemas, 'createTemplateSchema'),
      responses: { 200: obj('Updated') },
    },
    {
      method: 'post',
      path: '/v1/templates/:id/preview',
      tag: 'templates',
      params: ID,
      summary: 'Render a template with sample data',
      body: zodExport(deliverySchemas, 'previewTemplateSchema'),
      errors: [422],
      responses: { 200: obj('Rendered subject and bodies') },
    },
    {
      method: 'post',
      path: '/v1/campaigns/:id/distributions',
      tag: 'publication',
      params: ID,
      idempotent: true,
      summary: 'Send codes to many recipients (JSON list, or a streamed CSV)',
      description:
        'JSON with inline recipients, or `Content-Type: text/csv` streamed with `channel` and `template_id` in the query string.',
      body: zodExport(distributionsSchemas, 'createDistributionSchema'),
      bodyContent: { 'text/csv': { schema: { type: 'string' }, example: 'email,name\nada@example.com,Ada\n' } },
      query: zodExport(distributionsSchemas, 'csvDistributionQuerySchema'),
      errors: [409, 422],
      responses: { 202: { ...obj('Accepted'), headers: { ...location, ...replayed } } },
    },
    {
      method: 'get',
      path: '/v1/distributions/:id',
      tag: 'publication',
      params: ID,
      summary: 'Distribution progress',
      responses: { 200: obj('The distribution') },
    },
    {
      method: 'post',
      path: '/v1/events',
      tag: 'triggers',
      summary: 'Report a business event (may publish codes via triggers)',
      body: zodExport(triggersSchemas, 'businessEventSchema'),
      responses: { 202: obj('Accepted'), 200: obj('Already received (same event id)') },
    },
    {
      method: 'get',
      path: '/v1/events',
      tag: 'webhooks',
      summary: 'The event feed (what webhooks deliver), by cursor',
      query: zodExport(webhooksSchemas, 'eventPageQuerySchema'),
      responses: { 200: page('Events') },
    },
    {
      method: 'post',
      path: '/v1/campaigns/:id/triggers',
      tag: 'triggers',
      params: ID,
      summary: 'Publish a code when a business event arrives',
      body: zodExport(triggersSchemas, 'createTriggerSchema'),
      responses: { 201: obj('Created') },
    },
    {
      method: 'get',
      path: '/v1/campaigns/:id/triggers',
      tag: 'triggers',
      params: ID,
      summary: "A campaign's triggers",
      responses: { 200: page('Triggers') },
    },
    {
      method: 'delete',
      path: '/v1/campaigns/:id/triggers/:triggerId',
      tag: 'triggers',
      params: { id: 'Campaign id', triggerId: 'Trigger id' },
      summary: 'Remove a trigger',
      responses: { 204: noContent },
    },

    // webhooks
    {
      method: 'post',
      path: '/v1/webhooks',
      tag: 'webhooks',
      summary: 'Register a webhook endpoint (the signing secret is returned once)',
      body: zodExport(webhooksSchemas, 'createWebhookSchema'),
      responses: { 201: { ...obj('Created'), headers: location } },
    },
    { method: 'get', path: '/v1/webhooks', tag: 'webhooks', summary: 'List webhook endpoints', responses: { 200: page('Endpoints') } },
    {
      method: 'get',
      path: '/v1/webhooks/:id',
      tag: 'webhooks',
      params: ID,
      summary: 'Get a webhook endpoint',
      responses: { 200: obj('The endpoint') },
    },
    {
      method: 'patch',
      path: '/v1/webhooks/:id',
      tag: 'webhooks',
      params: ID,
      summary: 'Update a webhook endpoint',
      body: zodExport(webhooksSchemas, 'updateWebhookSchema'),
      responses: { 200: obj('Updated') },
    },
    {
      method: 'delete',
      path: '/v1/webhooks/:id',
      tag: 'webhooks',
      params: ID,
      summary: 'Delete a webhook endpoint',
      responses: { 204: noContent },
    },
    {
      method: 'post',
      path: '/v1/webhooks/:id/rotate-secret',
      tag: 'webhooks',
      params: ID,
      summary: 'Rotate the signing secret (returned once)',
      responses: { 200: obj('The new secret') },
    },
    {
      method: 'get',
      path: '/v1/webhooks/:id/deliveries',
      tag: 'webhooks',
      params: ID,
      summary: "An endpoint's delivery attempts",
      query: zodExport(webhooksSchemas, 'deliveryPageQuerySchema'),
      responses: { 200: page('Deliveries') },
    },
    {
      method: 'post',
      path: '/v1/webhooks/:id/replay',
      tag: 'webhooks',
      params: ID,
      summary: 'Re-deliver events since a point in time',
      body: zodExport(webhooksSchemas, 'replayWebhookSchema'),
      responses: { 202: obj('Accepted', { replay_id: '1f2e3d4c-…', endpoint_id: '…', since: ts, status: 'accepted' }) },
    },
    {
      method: 'get',
      path: '/v1/webhook-deliveries/:id',
      tag: 'webhooks',
      params: ID,
      summary: 'Get a delivery attempt',
      responses: { 200: obj('The delivery') },
    },
    {
      method: 'post',
      path: '/v1/webhook-deliveries/:id/retry',
      tag: 'webhooks',
      params: ID,
      summary: 'Retry a delivery now',
      errors: [409],
      responses: { 202: obj('Queued') },
    },

    // stats, expiry, exports
    {
      method: 'get',
      path: '/v1/campaigns/:id/stats',
      tag: 'stats',
      params: ID,
      summary: 'Campaign statistics',
      query: zodExport(statsSchemas, 'statsQuerySchema'),
      responses: { 200: obj('Counts and series') },
    },
    {
      method: 'get',
      path: '/v1/campaigns/:id/expiry-reminder',
      tag: 'expiry',
      params: ID,
      summary: 'The expiring-soon reminder setting',
      responses: { 200: obj('The setting') },
    },
    {
      method: 'put',
      path: '/v1/campaigns/:id/expiry-reminder',
      tag: 'expiry',
      params: ID,
      summary: 'Set the expiring-soon reminder',
      body: zodExport(expirySchemas, 'expiryReminderSchema'),
      responses: { 200: obj('The setting') },
    },
    {
      method: 'delete',
      path: '/v1/campaigns/:id/expiry-reminder',
      tag: 'expiry',
      params: ID,
      summary: 'Remove the expiring-soon reminder',
      responses: { 204: noContent },
    },
    {
      method: 'post',
      path: '/v1/campaigns/:id/exports',
      tag: 'exports',
      params: ID,
      idempotent: true,
      summary: "Export a campaign's codes (asynchronous)",
      body: zodExport(exportsSchemas, 'createExportSchema'),
      bodyExample: { format: 'csv', filter: { status: 'active' } },
      responses: {
        202: {
          ...one('Accepted', views.export, { ...examples.export, status: 'queued', download_url: null }),
          headers: { ...location, ...replayed },
        },
      },
    },
    {
      method: 'get',
      path: '/v1/exports/:id',
      tag: 'exports',
      params: ID,
      summary: 'Export status and progress',
      responses: { 200: one('The export', views.export, examples.export) },
    },
    {
      method: 'get',
      path: '/v1/exports/:id/download',
      tag: 'exports',
      params: ID,
      summary: 'Download a completed export (CSV stream)',
      errors: [409, 410],
      responses: {
        200: {
          description: 'CSV',
          content: { 'text/csv': { schema: { type: 'string' }, example: 'code,status,active,…\nSPRING-7KQ2-M9XD,active,true,…\n' } },
        },
      },
    },
  ];
}

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The platform's OpenAPI 3.1 document. */
export function openApiDocument(): Record<string, unknown> {
  return buildOpenApiDocument(routeSpecs(), {
    title: 'promo API',
    version,
    description: [
      'Self-hosted promo-code platform: campaigns, million-code generation, validation and redemption, publication by e-mail/SMS, webhooks, stats and exports.',
      '',
      'Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457 problem+json with a stable `code`. Every response carries `X-Request-Id`.',
    ].join('\n'),
  });
}
