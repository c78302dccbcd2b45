import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { problem, sendProblem } from './problem.ts';

/** `TRUST_PROXY`: false (default), true, a hop count, or a comma-separated list of addresses/subnets (express syntax). */
export function trustProxySetting(value: string): boolean | number | string[] {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Security headers. The default policy suits the JSON API and the platform's own UIs (Bull Board, /docs),
 * which load only same-origin scripts; no `upgrade-insecure-requests`, since the platform usually sits
 * behind a TLS-terminating proxy or is reached over plain HTTP on a private network.
 *
 * helmet's headers do not depend on the request, so helmet runs once, against a recording response, and each
 * response gets the recorded headers: the same headers for a fraction of a dozen middleware calls per request.
 */
export function securityHeaders(): RequestHandler {
  const policy = helmet({
    contentSecurityPolicy: {
      directives: {
        upgradeInsecureRequests: null,
        'connect-src': ["'self'"],
      },
    },
  });
  const headers: [string, string][] = [];
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.push([name, String(value)]);
      return recorder;
    },
    removeHeader() {},
  };
  let synchronous = false;
  policy({} as IncomingMessage, recorder as unknown as ServerResponse, () => {
    synchronous = true;
  });
  if (!synchronous) throw new Error('helmet did not answer synchronously; security headers cannot be precomputed');
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/** CORS only when `CORS_ORIGINS` names origins (`*` for any); otherwise no CORS headers at all. */
export function corsFromConfig(setting: string): RequestHandler | undefined {
  const origins = setting
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (origins.length === 0) return undefined;
  return cors({
    origin: origins.includes('*') ? '*' : origins,
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Location', 'Idempotent-Replayed', 'Retry-After'],
    maxAge: 600,
  });
}

/** Streamed uploads (CSV recipient lists) legitimately take longer than a JSON call; HTTP_UPLOAD_TIMEOUT_MS bounds them. */
function isStreamedUpload(contentType: string | undefined): boolean {
  return /^(text|application)\/csv\b/i.test(contentType ?? '');
}

/**
 * A request that has not answered within `ms` gets a 503 `request_timeout` problem, so a stuck dependency
 * cannot hold connections (and graceful shutdown) forever; one whose body has not all arrived by then (shorter than
 * its Content-Length, or a client that stalled) gets 408 `request_body_timeout`: the client's fault, not ours.
 * Streaming responses that already started are left alone.
 */
export function requestTimeout(ms: number, uploadMs: number = ms): RequestHandler {
  return (req, res, next) => {
    const limit = isStreamedUpload(req.headers['content-type']) ? Math.max(ms, uploadMs) : ms;
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      res.setHeader('Connection', 'close');
      if (!req.complete) {
        sendProblem(res, problem(408, 'request_body_timeout', `The request body did not arrive within ${limit} ms.`));
        return;
      }
      sendProblem(res, problem(503, 'request_timeout', `The request took longer than ${limit} ms.`));
    }, limit);
    const clear = () => clearTimeout(timer);
    res.once('finish', clear);
    res.once('close', clear);
    next();
  };
}
