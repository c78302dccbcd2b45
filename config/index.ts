import { z } from 'zod';
import { parseNodeList } from '../src/queues/connection.ts';
import { isTimeZone } from '../src/rules/time-zone.ts';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce.number().int().positive();

/** A body size limit as express's parsers take it. */
const byteSize = z.string().regex(/^\d+(b|kb|mb)$/i, 'a size such as 100kb or 1mb');
function clusterNodesError(list: string): string | null {
  try {
    parseNodeList(list);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Every setting the platform reads from the environment, with defaults that work on a developer machine. */
export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/promo'),
  DATABASE_POOL_SIZE: positiveInt.default(10),
  // false behind a pooler in transaction mode (PgBouncer < 1.21): statements are sent unnamed, no LISTEN through it.
  DATABASE_PREPARED_STATEMENTS: bool.default(true),
  // A connection straight to PostgreSQL for what needs a session (LISTEN, creating the database) when DATABASE_URL is a pooler.
  DATABASE_DIRECT_URL: z.url().optional(),
  DATABASE_CONNECT_TIMEOUT_MS: positiveInt.min(100).default(10_000),
  REDIS_URL: z
    .string()
    .refine((value) => {
      if (/^rediss?\+cluster:\/\//i.test(value))
        return clusterNodesError(value.replace(/^[^/]*\/\/(?:[^@/]*@)?/, '').replace(/\/$/, '')) === null;
      return URL.canParse(value) && /^rediss?:$/.test(new URL(value).protocol);
    }, 'a redis:// or rediss:// URL, or redis+cluster://host:port,host:port')
    .default('redis://127.0.0.1:6379'),
  // Redis Cluster seed nodes (host:port,host:port); credentials and TLS from REDIS_URL. Or a redis+cluster:// REDIS_URL.
  REDIS_CLUSTER_NODES: z
    .string()
    .refine((value) => clusterNodesError(value) === null, 'comma-separated host:port seed nodes')
    .optional(),
  // API keys: answers cached per process; a revocation reaches every process through Redis at once, and while a
  // process cannot hear Redis it keeps answers for the fallback TTL only (so a revoked key stops within it).
  API_KEY_CACHE_TTL_MS: positiveInt.max(300_000).default(10_000),
  API_KEY_CACHE_FALLBACK_TTL_MS: positiveInt.min(100).max(10_000).default(1_000),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]*(\{[A-Za-z0-9_-]+\})?[A-Za-z0-9_-]*$/, 'letters, digits, _ and - only, optionally one {hash tag}')
    .min(1)
    .default('promo'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PROMO_BOOTSTRAP_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  GENERATION_CHUNK_SIZE: positiveInt.max(1_000_000).default(50_000),
  GENERATION_CONCURRENCY: positiveInt.max(64).default(2),
  GENERATION_MAX_COUNT: positiveInt.default(50_000_000),
  // Imports of existing codes (issue 15)
  IMPORT_CHUNK_SIZE: positiveInt.max(1_000_000).default(50_000),
  IMPORT_CONCURRENCY: positiveInt.max(64).default(2),
  IMPORT_MAX_ROWS: positiveInt.default(50_000_000),
  IMPORT_JSON_BODY_LIMIT: byteSize.default('32mb'),
  WORKER_CONCURRENCY: positiveInt.max(256).default(8),
  WORKER_QUEUES: z.string().default('*'),
  WORKER_LOCK_DURATION_MS: positiveInt.min(1_000).default(30_000),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(30_000),
  WORKER_SHUTDOWN_GRACE_MS: positiveInt.default(20_000),
  // HTTP edge (issue 7)
  HTTP_BODY_LIMIT: byteSize.default('1mb'),
  HTTP_REQUEST_TIMEOUT_MS: positiveInt.min(100).default(30_000),
  HTTP_UPLOAD_TIMEOUT_MS: positiveInt.min(1_000).default(600_000),
  CORS_ORIGINS: z.string().default(''),
  TRUST_PROXY: z.string().default('false'),
  // Check every response of a declared route against its operation's schemas; a mismatch becomes a 500 (tests).
  HTTP_RESPONSE_VALIDATION: bool.default(false),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().default('0.0.0.0'),
  RUN_MIGRATIONS: bool.default(true),
  // Publications and delivery (issue 5)
  PUBLIC_BASE_URL: z.url().default('http://localhost:3000'),
  PUBLIC_LINK_SECRET: z.string().min(32, 'at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  SMTP_URL: z.url().optional(),
  SMTP_POOL_MAX_CONNECTIONS: positiveInt.max(100).default(5),
  MAIL_FROM: z.string().min(3).default('Promo <no-reply@localhost>'),
  MAIL_REPLY_TO: z.string().min(3).optional(),
  MAIL_DIR: z.string().default('var/mail'),
  SMS_PROVIDER: z.enum(['twilio', 'http', 'file']).default('file'),
  SMS_FROM: z.string().optional(),
  SMS_DEFAULT_COUNTRY: z
    .string()
    .regex(/^[A-Z]{2}$/, 'an ISO 3166 country code such as US')
    .default('US'),
  TWILIO_ACCOUNT_SID: z.string().optional(),
  TWILIO_AUTH_TOKEN: z.string().optional(),
  TWILIO_MESSAGING_SERVICE_SID: z.string().optional(),
  TWILIO_API_BASE_URL: z.url().optional(),
  SMS_HTTP_URL: z.url().optional(),
  SMS_HTTP_METHOD: z.enum(['POST', 'PUT', 'GET']).default('POST'),
  SMS_HTTP_AUTH_HEADER: z.string().optional(),
  SMS_HTTP_CONTENT_TYPE: z.string().default('application/json'),
  SMS_HTTP_BODY_TEMPLATE: z.string().default('{"to":{{ to | json }},"from":{{ from | json }},"text":{{ body | json }}}'),
  SMS_HTTP_MESSAGE_ID_FIELD: z.string().default('id'),
  EMAIL_RATE_MAX: positiveInt.default(1_000),
  EMAIL_RATE_DURATION_MS: positiveInt.default(1_000),
  SMS_RATE_MAX: positiveInt.default(20),
  SMS_RATE_DURATION_MS: positiveInt.default(1_000),
  DELIVERY_CONCURRENCY: positiveInt.max(512).default(32),
  DELIVERY_MAX_ATTEMPTS: positiveInt.max(50).default(8),
  DELIVERY_BACKOFF_MS: positiveInt.default(10_000),
  DELIVERY_SEND_LEASE_MS: positiveInt.min(100).default(60_000),
  // Messages one send job carries (of one channel): sent concurrently, claimed and recorded in shared statements.
  DELIVERY_BATCH_SIZE: positiveInt.max(1_000).default(100),
  DISTRIBUTION_CHUNK_SIZE: positiveInt.max(10_000).default(500),
  // Outbox relay and webhooks (issue 4)
  OUTBOX_RELAY_INTERVAL_MS: positiveInt.min(50).default(500),
  OUTBOX_RELAY_BATCH_SIZE: positiveInt.max(10_000).default(500),
  WEBHOOK_RETRY_DELAYS_MS: z
    .string()
    .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'comma-separated milliseconds, e.g. 5000,300000')
    .transform((s) => s.split(',').map((v) => Number(v.trim())))
    .default([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
  WEBHOOK_TIMEOUT_MS: positiveInt.max(60_000).default(15_000),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),
  WEBHOOK_SECRET_ENCRYPTION_KEY: z.string().optional(),
  WEBHOOK_SECRET_ENCRYPTION_KEY_PREVIOUS: z.string().optional(),
  WEBHOOK_DISABLE_AFTER_MS: positiveInt.default(5 * 24 * 3600 * 1000),
  WEBHOOK_ENDPOINT_RATE_PER_S: positiveInt.default(50),
  WEBHOOK_ENDPOINT_MAX_IN_FLIGHT: positiveInt.default(10),
  WEBHOOK_DELIVERY_CONCURRENCY: positiveInt.max(1_000).default(32),
  // Deliveries one webhook job carries (one endpoint's share of a relay batch): sent concurrently, recorded at once.
  WEBHOOK_BATCH_SIZE: positiveInt.max(1_000).default(200),
  // A pending delivery whose job has been missing this long gets one again: keep it above WEBHOOK_TIMEOUT_MS, so an
  // attempt still in flight when Redis lost its job is not sent twice.
  WEBHOOK_REQUEUE_AFTER_MS: positiveInt.min(100).default(20_000),
  // Guessing defence (validations and redemptions): failed lookups per shopper IP or customer per window.
  GUESS_LIMIT: positiveInt.default(10),
  GUESS_WINDOW_SECONDS: positiveInt.default(600),
  GUESS_IP_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name')
    .transform((h) => h.toLowerCase())
    .default('x-forwarded-for'),
  VALIDATION_API_KEY_LIMIT: positiveInt.default(1_000_000),
  VALIDATION_API_KEY_WINDOW_SECONDS: positiveInt.default(60),
  // Scheduled runs: expiry sweep, reports, exports (issue 6). Cron patterns have six fields (seconds first).
  EXPIRY_SWEEP_CRON: z.string().min(9).default('0 * * * * *'),
  /** How often held reservations past their expires_at are released in batches (besides each one's own delayed job). */
  RESERVATION_SWEEP_INTERVAL_MS: positiveInt.min(100).max(600_000).default(5_000),
  RESERVATION_SWEEP_BATCH_SIZE: positiveInt.max(10_000).default(500),
  /** E-mail domains whose `+tag` and dots are ignored when per-customer limits compare e-mails (comma-separated). */
  EMAIL_TAG_DOMAINS: z
    .string()
    .default('gmail.com,googlemail.com')
    .transform((v) =>
      v
        .split(',')
        .map((d) => d.trim().toLowerCase())
        .filter(Boolean),
    ),
  EXPIRY_SWEEP_BATCH_SIZE: positiveInt.max(50_000).default(2_000),
  EXPIRY_SWEEP_BATCH_PAUSE_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  REPORT_CRON: z.string().min(9).default('0 5 0 * * *'),
  REPORT_TIMEZONE: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin').default('UTC'),
  REPORT_EMAIL_TO: z.string().optional(),
  EXPORT_DIR: z.string().default('var/exports'),
  EXPORT_TTL_SECONDS: positiveInt.default(7 * 24 * 3600),
  EXPORT_CLEANUP_CRON: z.string().min(9).default('0 */10 * * * *'),
  IDEMPOTENCY_KEY_TTL_SECONDS: positiveInt.default(24 * 3600),
  IDEMPOTENCY_CLEANUP_CRON: z.string().min(9).default('0 */15 * * * *'),
  EXPORT_CONCURRENCY: positiveInt.max(16).default(1),
  EXPORT_BATCH_SIZE: positiveInt.max(100_000).default(10_000),
  // Operator console (issue 17): the session cookie's signing secret (required in production) and lifetime.
  CONSOLE_SESSION_SECRET: z.string().min(32, 'at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  CONSOLE_SESSION_TTL_SECONDS: positiveInt
    .min(60)
    .max(30 * 24 * 3600)
    .default(8 * 3600),
  // Lost work (issue 12): how often schedulers are re-asserted and durable work whose job Redis lost is re-created.
  RECONCILE_INTERVAL_MS: positiveInt.min(100).max(600_000).default(10_000),
  RECONCILE_BATCH_SIZE: positiveInt.max(1_000_000).default(10_000),
  // Voucherify-compatible API (issue 15): where it is mounted (empty: off) and the currency its amounts are in
  // (Voucherify orders and amount discounts carry no currency; a Voucherify project has one).
  VOUCHERIFY_COMPAT_PREFIX: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'a path such as /voucherify, or empty to switch the compatible API off')
    .default('/voucherify'),
  VOUCHERIFY_COMPAT_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code such as USD')
    .default('USD'),
  // Voucherify's stacking rule `redeemables_application_mode`: ALL redeems every redeemable or none, PARTIAL the valid ones.
  VOUCHERIFY_COMPAT_APPLICATION_MODE: z.enum(['ALL', 'PARTIAL']).default('ALL'),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Variables whose empty value is a setting of its own (off), not "unset, take the default". */
const EMPTY_MEANS_OFF = new Set(['VOUCHERIFY_COMPAT_PREFIX']);

/** Parses the environment once; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([name, v]) => v !== undefined && (v !== '' || EMPTY_MEANS_OFF.has(name))));
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return Object.freeze(result.data);
}
