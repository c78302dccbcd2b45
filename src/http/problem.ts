import type { ErrorRequestHandler, Response } from 'express';
import { ZodError, z } from 'zod';
import { asUnavailable } from '../db/sql.ts';
import { loggablePath } from '../observability/http.ts';
import { DomainError, type ErrorKind, type FieldError, ServiceUnavailableError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const problemSchema = z
  .looseObject({
    type: z.string().meta({ examples: ['urn:promo:problem:validation_failed'] }),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('Stable error code to branch on'),
    detail: z.string().describe('Human-readable explanation'),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('Offending fields (400 validation_failed)'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details, with a stable machine-readable `code`.' });

export type Problem = z.output<typeof problemSchema>;

export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return { type: `urn:promo:problem:${code}`, title: statusTitle(status), status, code, detail, ...extra };
}

export function sendProblem(res: Response, body: Problem): void {
  res.status(body.status).type('application/problem+json').json(body);
}

export function zodFieldErrors(error: ZodError): FieldError[] {
  return error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message }));
}

export function domainErrorToProblem(error: DomainError): Problem {
  return problem(STATUS[error.kind], error.code, error.message, error.details);
}

/** The problem a known error answers with; undefined for anything else (a 500 without internals). */
export function problemFor(raised: unknown): Problem | undefined {
  const thrown = asUnavailable(raised);
  if (thrown instanceof DomainError) return domainErrorToProblem(thrown);
  if (thrown instanceof ZodError) return problem(400, 'validation_failed', 'The request is not valid.', { errors: zodFieldErrors(thrown) });
  const error = thrown as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown } | null | undefined;
  const status = typeof error?.status === 'number' ? error.status : typeof error?.statusCode === 'number' ? error.statusCode : 500;
  if (error?.type === 'entity.parse.failed') return problem(400, 'invalid_json', 'The request body is not valid JSON.');
  if (error?.type === 'entity.too.large') return problem(413, 'payload_too_large', 'The request body is too large.');
  if (status >= 400 && status < 500) return problem(status, 'bad_request', String(error?.message ?? 'Bad request'));
  return undefined;
}

/** The single place errors become HTTP: known errors keep their code, anything else is a 500 without internals. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (thrown, req, res, _next) => {
    if (res.headersSent) return;
    // Infrastructure out of reach (a lost PostgreSQL connection, wrapped or not) is a 503 the client may retry.
    const error = asUnavailable(thrown);
    if (error instanceof ServiceUnavailableError) res.set('Retry-After', String(error.retryAfterSeconds));
    const known = problemFor(error);
    if (known) return sendProblem(res, error instanceof DomainError ? { ...known, instance: req.originalUrl } : known);
    // Never the raw URL: it can carry a full code (/v1/vouchers/:code) or a query string.
    logger.error({ err: error, path: loggablePath(req.originalUrl) }, 'unhandled error');
    sendProblem(res, problem(500, 'internal_error', 'An unexpected error occurred.'));
  };
}
