import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs to stdout (or `destination`, for tests that read them). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      serializers: { err: serializeError },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', '*.secret', '*.apiKey', '*.key', '*.authorization', '*.password'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * Errors as pino serializes them, without the fields in which PostgreSQL quotes row values (`detail`: "Key
 * (code)=(SPRING-7Q4K) already exists.", `where`, `hint`): a logged constraint violation must not leak a code, an
 * email address or a secret. The SQLSTATE `code`, `constraint`, `table` and `column` stay, which is what debugging needs.
 */
export function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown;
  if (!serialized || typeof serialized !== 'object') return serialized;
  const { detail: _detail, where: _where, hint: _hint, ...rest } = serialized as Record<string, unknown>;
  return rest;
}

/** Masks a code for logs: enough to correlate, never enough to use. */
export function maskCode(code: string): string {
  return code.length <= 4 ? '****' : `${code.slice(0, 2)}${'*'.repeat(code.length - 4)}${code.slice(-2)}`;
}
