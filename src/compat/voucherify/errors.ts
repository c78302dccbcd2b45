import type { ErrorRequestHandler, Request, Response } from 'express';
import { ZodError } from 'zod';
import { asUnavailable } from '../../db/sql.ts';
import { loggablePath } from '../../observability/http.ts';
import type { CheckoutReason } from '../../rules/checkout.ts';
import { DomainError, type ErrorKind, ServiceUnavailableError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';

/** Voucherify's error body: `code` is the HTTP status as a number, `key` the stable name to branch on. */
export interface VoucherifyErrorBody {
  code: number;
  key: string;
  message: string;
  details: string;
  request_id: string;
  resource_id?: string;
  resource_type?: string;
  error?: { message: string };
}

export interface VoucherifyKey {
  status: number;
  key: string;
  message: string;
}

const entry = (status: number, key: string, message: string): VoucherifyKey => ({ status, key, message });

const INVALID_PAYLOAD = entry(400, 'invalid_payload', 'Invalid payload');
const INVALID_QUERY = entry(400, 'invalid_query_params', 'Invalid query params');
const NOT_FOUND = entry(404, 'not_found', 'Resource not found');
const DUPLICATE = entry(409, 'duplicate_found', 'Duplicated resource found');
const QUANTITY_EXCEEDED = entry(400, 'quantity_exceeded', 'quantity exceeded');
const INVALID_CODE_CONFIG = entry(400, 'invalid_code_config', 'Invalid code config');
const NOT_PUBLISHABLE = entry(400, 'no_voucher_suitable_for_publication', "Couldn't find any voucher suitable for publication.");
const TOO_MANY_REQUESTS = entry(429, 'too_many_requests', 'Too many requests');

/**
 * The one table from the platform's refusal reasons (src/rules/checkout.ts) and error codes (`DomainError.code`) to
 * Voucherify's status, key and message (docs/migrating-from-voucherify.md shows it), and a few of the compatible
 * API's own (`route_not_supported`, …). A refusal of a code answers a validation with 200 `valid: false` and the key
 * as `error.key`, and a redemption with the status.
 */
export const VOUCHERIFY_KEYS = {
  // Refusals of a code.
  not_found: NOT_FOUND,
  not_active_yet: entry(400, 'voucher_not_active', 'voucher not active'),
  expired: entry(400, 'voucher_expired', 'voucher expired'),
  disabled: entry(400, 'voucher_disabled', 'voucher is disabled'),
  campaign_inactive: entry(400, 'campaign_not_active', 'campaign not active'),
  outside_validity_window: entry(400, 'voucher_not_active_now', 'voucher is not active in the given timeframe'),
  quantity_exceeded: QUANTITY_EXCEEDED,
  customer_limit_exceeded: entry(400, 'customer_rules_violated', 'customer does not match validation rules'),
  order_amount_too_low: entry(400, 'order_rules_violated', 'order does not match validation rules'),
  customer_required: entry(400, 'missing_customer', 'customer is required'),
  rule_not_met: entry(400, 'validation_rules_violated', 'redeemable does not match validation rules'),
  not_combinable: entry(400, 'exclusion_rules_not_met', 'redeemable cannot be combined with the others'),
  budget_exhausted: entry(400, 'campaign_budget_exceeded', 'campaign budget exceeded'),
  reserved: QUANTITY_EXCEEDED,
  // Platform errors with a counterpart of their own.
  validation_failed: INVALID_PAYLOAD,
  invalid_json: INVALID_PAYLOAD,
  invalid_cursor: INVALID_QUERY,
  unauthorized: entry(401, 'unauthorized', 'Unauthorized'),
  forbidden: entry(403, 'forbidden', 'Forbidden'),
  voucher_code_taken: DUPLICATE,
  campaign_name_taken: DUPLICATE,
  idempotency_key_reused: DUPLICATE,
  reservation_expired: entry(400, 'session_expired', 'The validation session has expired'),
  reservation_released: entry(400, 'session_released', 'The validation session was released'),
  reservation_confirmed: entry(409, 'session_consumed', 'The validation session was already redeemed'),
  ambiguous_name: entry(409, 'ambiguous_name', 'More than one campaign has this name'),
  // Voucherify documents one key for a code config that cannot serve: invalid_code_config (details say which).
  code_space_exhausted: INVALID_CODE_CONFIG,
  code_space_too_small: INVALID_CODE_CONFIG,
  campaign_exhausted: NOT_PUBLISHABLE,
  voucher_not_publishable: NOT_PUBLISHABLE,
  already_rolled_back: entry(400, 'already_rolled_back', 'Redemption has already been rolled back'),
  currency_mismatch: entry(400, 'invalid_order', 'Invalid order'),
  too_many_guesses: TOO_MANY_REQUESTS,
  rate_limited: TOO_MANY_REQUESTS,
  payload_too_large: entry(413, 'payload_too_large', 'Payload too large'),
  // The compatible API's own.
  invalid_query: INVALID_QUERY,
  not_supported: entry(400, 'not_supported', 'Not supported'),
  route_not_supported: entry(404, 'not_supported', 'Not supported'),
  // More redeemables than the platform weighs together: Voucherify's key for its stacking limit.
  redeemables_limit: entry(400, 'applicable_redeemables_limit_exceeded', 'Applicable redeemables limit exceeded'),
  internal_error: entry(500, 'internal_error', 'Internal error'),
} as const satisfies Record<string, VoucherifyKey>;

/** The refusal reasons' part of the table: every reason has its key (a missing one does not compile). */
export const REFUSALS: Record<CheckoutReason, VoucherifyKey> = VOUCHERIFY_KEYS;

const KNOWN: Record<string, VoucherifyKey | undefined> = VOUCHERIFY_KEYS;

/** Everything else, by the kind of platform error. */
const BY_KIND: Record<ErrorKind, VoucherifyKey> = {
  invalid: INVALID_PAYLOAD,
  unauthorized: VOUCHERIFY_KEYS.unauthorized,
  forbidden: VOUCHERIFY_KEYS.forbidden,
  not_found: NOT_FOUND,
  conflict: DUPLICATE,
  unprocessable: INVALID_PAYLOAD,
  rate_limited: TOO_MANY_REQUESTS,
  unavailable: entry(503, 'service_unavailable', 'Service unavailable, retry shortly'),
};

/** An error the compatible API answers in Voucherify's words. */
export class VoucherifyApiError extends Error {
  readonly status: number;
  readonly key: string;
  readonly details: string;
  readonly resourceId?: string;
  readonly resourceType?: string;
  constructor(entry: VoucherifyKey, details: string, resource?: { id?: string; type?: string }) {
    super(entry.message);
    this.name = 'VoucherifyApiError';
    this.status = entry.status;
    this.key = entry.key;
    this.details = details;
    this.resourceId = resource?.id;
    this.resourceType = resource?.type;
  }
}

/** 400 `not_supported` naming the field a supported endpoint cannot honour (never silently ignored). */
export function notSupported(field: string, why: string): VoucherifyApiError {
  return new VoucherifyApiError(VOUCHERIFY_KEYS.not_supported, `${field}: ${why}`);
}

/** 400 `invalid_payload`: the details name the field and what it must be. */
export function invalidPayload(details: string): VoucherifyApiError {
  return new VoucherifyApiError(INVALID_PAYLOAD, details);
}

/** 400 `invalid_query_params`. */
export function invalidQuery(details: string): VoucherifyApiError {
  return new VoucherifyApiError(INVALID_QUERY, details);
}

/** What a refusal says: the failed rule's name and message, else the reason's message. */
export function refusalDetails(reason: CheckoutReason, rule?: { name: string; message?: string }): string {
  return rule ? `${rule.name}${rule.message ? `: ${rule.message}` : ''}` : REFUSALS[reason].message;
}

/** 404 `not_found` for a resource the compatible API looked up itself. */
export function notFound(type: string, id: string): VoucherifyApiError {
  return new VoucherifyApiError(BY_KIND.not_found, `Cannot find ${type} with id ${id}`, { id, type });
}

function requestId(res: Response): string {
  return String(res.getHeader('X-Request-Id') ?? '');
}

/** A platform error in Voucherify's words: its status, key, message and, for input errors, the fields named. */
export function voucherifyErrorOf(raised: unknown): VoucherifyApiError | null {
  const thrown = asUnavailable(raised);
  if (thrown instanceof VoucherifyApiError) return thrown;
  if (thrown instanceof DomainError) {
    const known = KNOWN[thrown.code] ?? BY_KIND[thrown.kind];
    const fields = (thrown.details.errors as { field: string; message: string }[] | undefined)
      ?.map((e) => `${e.field}: ${e.message}`)
      .join('; ');
    const type = thrown.kind === 'not_found' ? thrown.code.replace(/_not_found$/, '') : undefined;
    return new VoucherifyApiError(known, fields || thrown.message, type ? { type } : undefined);
  }
  if (thrown instanceof ZodError) {
    const fields = thrown.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    return invalidPayload(fields);
  }
  const error = thrown as { type?: unknown; status?: unknown; message?: unknown } | null;
  if (error?.type === 'entity.parse.failed') return invalidPayload('The body is not valid JSON.');
  if (error?.type === 'entity.too.large') return new VoucherifyApiError(VOUCHERIFY_KEYS.payload_too_large, 'The body is too large.');
  if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
    return new VoucherifyApiError({ ...INVALID_PAYLOAD, status: error.status }, String(error.message ?? ''));
  }
  return null;
}

export function sendVoucherifyError(res: Response, error: VoucherifyApiError): void {
  const body: VoucherifyErrorBody = {
    code: error.status,
    key: error.key,
    message: error.message,
    details: error.details,
    request_id: requestId(res),
    ...(error.resourceId ? { resource_id: error.resourceId } : {}),
    ...(error.resourceType ? { resource_type: error.resourceType } : {}),
  };
  res.status(error.status).json(body);
}

/** The compatible API's error handler: every failure in Voucherify's body, infrastructure as 503 with Retry-After. */
export function voucherifyErrorHandler(logger: Logger): ErrorRequestHandler {
  return (thrown, req: Request, res: Response, _next) => {
    if (res.headersSent) return;
    const unavailable = asUnavailable(thrown);
    const retryAfter =
      unavailable instanceof ServiceUnavailableError
        ? unavailable.retryAfterSeconds
        : (unavailable as { retryAfterSeconds?: number } | null)?.retryAfterSeconds;
    if (typeof retryAfter === 'number') res.set('Retry-After', String(retryAfter));
    const known = voucherifyErrorOf(thrown);
    if (known) return sendVoucherifyError(res, known);
    logger.error({ err: thrown, path: loggablePath(req.originalUrl) }, 'unhandled error (voucherify compatible API)');
    sendVoucherifyError(res, new VoucherifyApiError(VOUCHERIFY_KEYS.internal_error, 'An unexpected error occurred.'));
  };
}
