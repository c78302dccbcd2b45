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

/**
 * The one table from the platform's reasons and error codes to Voucherify's status, key and message
 * (docs/migrating-from-voucherify.md shows it). Refusals of a code (`REFUSALS`) answer a validation with 200
 * `valid: false` and this key as `error.key`, and a redemption with the status below.
 */
export const REFUSALS: Record<CheckoutReason, VoucherifyKey> = {
  not_found: { status: 404, key: 'not_found', message: 'Resource not found' },
  not_active_yet: { status: 400, key: 'voucher_not_active', message: 'voucher not active' },
  expired: { status: 400, key: 'voucher_expired', message: 'voucher expired' },
  disabled: { status: 400, key: 'voucher_disabled', message: 'voucher is disabled' },
  campaign_inactive: { status: 400, key: 'campaign_not_active', message: 'campaign not active' },
  outside_validity_window: { status: 400, key: 'voucher_not_active_now', message: 'voucher is not active in the given timeframe' },
  quantity_exceeded: { status: 400, key: 'quantity_exceeded', message: 'quantity exceeded' },
  customer_limit_exceeded: { status: 400, key: 'customer_rules_violated', message: 'customer does not match validation rules' },
  order_amount_too_low: { status: 400, key: 'order_rules_violated', message: 'order does not match validation rules' },
  customer_required: { status: 400, key: 'missing_customer', message: 'customer is required' },
  rule_not_met: { status: 400, key: 'validation_rules_violated', message: 'redeemable does not match validation rules' },
  not_combinable: { status: 400, key: 'exclusion_rules_not_met', message: 'redeemable cannot be combined with the others' },
  budget_exhausted: { status: 400, key: 'campaign_budget_exceeded', message: 'campaign budget exceeded' },
  reserved: { status: 400, key: 'quantity_exceeded', message: 'quantity exceeded' },
};

/** Platform error codes (src/shared/errors.ts `DomainError.code`) with a Voucherify counterpart of their own. */
export const ERROR_CODES: Record<string, VoucherifyKey> = {
  validation_failed: { status: 400, key: 'invalid_payload', message: 'Invalid payload' },
  invalid_json: { status: 400, key: 'invalid_payload', message: 'Invalid payload' },
  invalid_cursor: { status: 400, key: 'invalid_query_params', message: 'Invalid query params' },
  unauthorized: { status: 401, key: 'unauthorized', message: 'Unauthorized' },
  forbidden: { status: 403, key: 'forbidden', message: 'Forbidden' },
  voucher_code_taken: { status: 409, key: 'duplicate_found', message: 'Duplicated resource found' },
  campaign_name_taken: { status: 409, key: 'duplicate_found', message: 'Duplicated resource found' },
  reservation_expired: { status: 400, key: 'session_expired', message: 'The validation session has expired' },
  reservation_released: { status: 400, key: 'session_released', message: 'The validation session was released' },
  reservation_confirmed: { status: 409, key: 'session_consumed', message: 'The validation session was already redeemed' },
  ambiguous_name: { status: 409, key: 'ambiguous_name', message: 'More than one campaign has this name' },
  // Voucherify documents one key for a code config that cannot serve: invalid_code_config (details say which).
  code_space_exhausted: { status: 400, key: 'invalid_code_config', message: 'Invalid code config' },
  code_space_too_small: { status: 400, key: 'invalid_code_config', message: 'Invalid code config' },
  campaign_exhausted: {
    status: 400,
    key: 'no_voucher_suitable_for_publication',
    message: "Couldn't find any voucher suitable for publication.",
  },
  voucher_not_publishable: {
    status: 400,
    key: 'no_voucher_suitable_for_publication',
    message: "Couldn't find any voucher suitable for publication.",
  },
  already_rolled_back: { status: 400, key: 'already_rolled_back', message: 'Redemption has already been rolled back' },
  currency_mismatch: { status: 400, key: 'invalid_order', message: 'Invalid order' },
  idempotency_key_reused: { status: 409, key: 'duplicate_found', message: 'Duplicated resource found' },
  too_many_guesses: { status: 429, key: 'too_many_requests', message: 'Too many requests' },
  rate_limited: { status: 429, key: 'too_many_requests', message: 'Too many requests' },
  payload_too_large: { status: 413, key: 'payload_too_large', message: 'Payload too large' },
  not_supported: { status: 400, key: 'not_supported', message: 'Not supported' },
  route_not_supported: { status: 404, key: 'not_supported', message: 'Not supported' },
  // More redeemables than the platform weighs together: Voucherify's key for its stacking limit.
  redeemables_limit: { status: 400, key: 'applicable_redeemables_limit_exceeded', message: 'Applicable redeemables limit exceeded' },
};

/** Everything else, by the kind of platform error. */
const BY_KIND: Record<ErrorKind, VoucherifyKey> = {
  invalid: { status: 400, key: 'invalid_payload', message: 'Invalid payload' },
  unauthorized: ERROR_CODES.unauthorized as VoucherifyKey,
  forbidden: ERROR_CODES.forbidden as VoucherifyKey,
  not_found: { status: 404, key: 'not_found', message: 'Resource not found' },
  conflict: { status: 409, key: 'duplicate_found', message: 'Duplicated resource found' },
  unprocessable: { status: 400, key: 'invalid_payload', message: 'Invalid payload' },
  rate_limited: ERROR_CODES.rate_limited as VoucherifyKey,
  unavailable: { status: 503, key: 'service_unavailable', message: 'Service unavailable, retry shortly' },
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
  return new VoucherifyApiError(ERROR_CODES.not_supported as VoucherifyKey, `${field}: ${why}`);
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
    const entry = ERROR_CODES[thrown.code] ?? REFUSALS[thrown.code as CheckoutReason] ?? BY_KIND[thrown.kind];
    const fields = (thrown.details.errors as { field: string; message: string }[] | undefined)
      ?.map((e) => `${e.field}: ${e.message}`)
      .join('; ');
    const type = thrown.kind === 'not_found' ? thrown.code.replace(/_not_found$/, '') : undefined;
    return new VoucherifyApiError(entry, fields || thrown.message, type ? { type } : undefined);
  }
  if (thrown instanceof ZodError) {
    const fields = thrown.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    return new VoucherifyApiError(ERROR_CODES.validation_failed as VoucherifyKey, fields);
  }
  const error = thrown as { type?: unknown; status?: unknown; message?: unknown } | null;
  if (error?.type === 'entity.parse.failed')
    return new VoucherifyApiError(ERROR_CODES.invalid_json as VoucherifyKey, 'The body is not valid JSON.');
  if (error?.type === 'entity.too.large')
    return new VoucherifyApiError(ERROR_CODES.payload_too_large as VoucherifyKey, 'The body is too large.');
  if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
    return new VoucherifyApiError(
      { status: error.status, key: 'invalid_payload', message: 'Invalid payload' },
      String(error.message ?? ''),
    );
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
    sendVoucherifyError(
      res,
      new VoucherifyApiError({ status: 500, key: 'internal_error', message: 'Internal error' }, 'An unexpected error occurred.'),
    );
  };
}
