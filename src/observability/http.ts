import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler } from 'express';
import type { Logger } from '../shared/logger.ts';
import { maskCode } from '../shared/logger.ts';
import { httpDuration } from '../shared/metrics.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** This request's id (also the X-Request-Id response header). */
    readonly id: string;
    /** A logger bound to this request's id (made on first use). */
    readonly log: Logger | undefined;
  }
}

export const REQUEST_ID_HEADER = 'X-Request-Id';
const VALID_INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Path segments that follow these carry a voucher code: they are masked before anything is logged. */
const CODE_BEARING = new Set(['vouchers', 'codes', 'code']);

/** The request path as it may be logged: no query string (it can carry codes or tokens), codes masked. */
export function loggablePath(originalUrl: string): string {
  const path = originalUrl.split('?', 1)[0] ?? '';
  const segments = path.split('/');
  return segments
    .map((segment, i) => {
      const previous = segments[i - 1];
      if (!previous || !CODE_BEARING.has(previous.toLowerCase()) || segment === '') return segment;
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment);
      } catch {}
      return maskCode(decoded);
    })
    .join('/');
}

const MATCHED_ROUTE = Symbol('promo.matchedRoute');
const ROUTE = Symbol('promo.route');
const LOGGER = Symbol('promo.logger');
const CHILD_LOGGER = Symbol('promo.childLogger');
type TrackedRequest = Request & {
  [MATCHED_ROUTE]?: string;
  [ROUTE]?: unknown;
  [LOGGER]?: Logger;
  [CHILD_LOGGER]?: Logger;
};

let accessorsInstalled = false;

/**
 * Accessors on express's request prototype, shared by every request (defining them per request would cost a
 * measurable share of a validation's CPU):
 * - `req.route` remembers the route template when express dispatches to a route: the router resets `req.route`
 *   and `req.baseUrl` when an error leaves it, so reading them when the response finishes would lose them;
 * - `req.log` makes the request's child logger on first use only.
 */
function installRequestAccessors(): void {
  if (accessorsInstalled) return;
  accessorsInstalled = true;
  Object.defineProperties(express.request, {
    route: {
      configurable: true,
      get(this: TrackedRequest) {
        return this[ROUTE];
      },
      set(this: TrackedRequest, route: { path?: unknown } | undefined) {
        this[ROUTE] = route;
        if (route && typeof route.path === 'string') this[MATCHED_ROUTE] = `${this.baseUrl ?? ''}${route.path}`;
      },
    },
    log: {
      configurable: true,
      get(this: TrackedRequest) {
        // Undefined on a request that did not pass requestLogging (another express app in the same process).
        const logger = this[LOGGER];
        if (logger) this[CHILD_LOGGER] ??= logger.child({ reqId: this.id });
        return this[CHILD_LOGGER];
      },
    },
  });
}

/** The route template that matched (`/v1/vouchers/:code`), a bounded label for metrics and logs. */
export function routeTemplate(req: Request): string {
  const tracked = (req as TrackedRequest)[MATCHED_ROUTE];
  if (tracked) return tracked;
  if (req.route?.path && typeof req.route.path === 'string') return `${req.baseUrl}${req.route.path}`;
  if (req.baseUrl) return `${req.baseUrl}/*`;
  return '(unmatched)';
}

/**
 * JSON access log with a request id: taken from a well-formed incoming `X-Request-Id` (so a proxy's id
 * follows the request) or generated, echoed in the response, and bound to `req.log` for handlers.
 * Headers, bodies and query strings are never logged; code-bearing path segments are masked.
 *
 * Written here rather than with pino-http, which builds a child logger (and runs redaction) for every request
 * even when nothing is logged: that was about 8 % of a validation's CPU at the default `warn` level. Here the
 * child is made only when a handler asks for `req.log`, and a line only when its level is enabled.
 */
export function requestLogging(logger: Logger): RequestHandler {
  installRequestAccessors();
  return (req, res, next) => {
    const started = performance.now();
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && VALID_INCOMING_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader(REQUEST_ID_HEADER, id);
    (req as { id: string }).id = id;
    (req as TrackedRequest)[LOGGER] = logger;
    const done = (finished: boolean) => {
      res.removeListener('finish', onFinish);
      res.removeListener('close', onClose);
      // A client that hangs up before the answer is worth a warning, not an error of ours.
      const level = res.statusCode >= 500 ? 'error' : !finished || res.statusCode >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          reqId: id,
          req: { id, method: req.method, path: loggablePath(req.originalUrl ?? req.url), remoteAddress: req.ip },
          res: { statusCode: res.headersSent ? res.statusCode : null },
          responseTime: Math.round(performance.now() - started),
          route: routeTemplate(req),
        },
        finished ? 'request completed' : 'request aborted',
      );
    };
    const onFinish = () => done(true);
    const onClose = () => done(res.writableFinished);
    res.on('finish', onFinish);
    res.on('close', onClose);
    next();
  };
}

/** Records every request's duration by method, route template and status. */
export function httpMetrics(): RequestHandler {
  installRequestAccessors();
  return (req, res, next) => {
    const end = httpDuration.startTimer();
    res.once('finish', () => {
      end({ method: req.method, route: routeTemplate(req), status: String(res.statusCode) });
    });
    next();
  };
}
