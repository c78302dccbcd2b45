/** What went wrong, independent of transport; http/problem.ts maps each kind to a status once. */
export type ErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'rate_limited'
  | 'unavailable';

export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(kind: ErrorKind, code: string, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DomainError';
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
}

export class ValidationError extends DomainError {
  readonly errors: FieldError[];
  constructor(errors: FieldError[], code = 'validation_failed', message = 'The request is not valid.') {
    super('invalid', code, message, { errors });
    this.errors = errors;
  }
}

export class NotFoundError extends DomainError {
  constructor(resource: string, id: string) {
    super('not_found', `${resource}_not_found`, `No ${resource.replaceAll('_', ' ')} with id ${JSON.stringify(id)}.`);
  }
}

/** A part the platform needs is out of reach for now: 503 with Retry-After, never a 500. */
export class ServiceUnavailableError extends DomainError {
  readonly retryAfterSeconds: number;
  constructor(code: string, message: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super('unavailable', code, message, {}, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** PostgreSQL could not be reached, or dropped the connection a statement ran on; `cause` is pg's error. */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  constructor(cause: unknown) {
    // The pool opens a fresh connection at once: a retry after a second usually succeeds.
    super('database_unavailable', 'The database is unavailable; retry shortly.', 1, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/** A transaction kept meeting deadlocks or serialization failures, and was retried as often as it may: retry later. */
export class TransactionConflictError extends ServiceUnavailableError {
  constructor(cause: unknown) {
    super('transaction_conflict', 'Concurrent changes kept conflicting with this one; retry shortly.', 1, { cause });
    this.name = 'TransactionConflictError';
  }
}
