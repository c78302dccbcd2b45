import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs to stdout (or `destination`, for tests that read them). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', '*.secret', '*.apiKey', '*.key', '*.authorization', '*.password'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** Masks a code for logs: enough to correlate, never enough to use. */
export function maskCode(code: string): string {
  return code.length <= 4 ? '****' : `${code.slice(0, 2)}${'*'.repeat(code.length - 4)}${code.slice(-2)}`;
}
