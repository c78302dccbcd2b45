import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: { paths: ['req.headers.authorization', '*.secret', '*.apiKey', '*.key'], censor: '[redacted]' },
  });
}

/** Masks a code for logs: enough to correlate, never enough to use. */
export function maskCode(code: string): string {
  return code.length <= 4 ? '****' : `${code.slice(0, 2)}${'*'.repeat(code.length - 4)}${code.slice(-2)}`;
}
