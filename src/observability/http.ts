import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../shared/logger.ts';
import { maskCode } from '../shared/logger.ts';
import { httpDuration } from '../shared/metrics.ts';

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
type TrackedRequest = Request & { [MATCHED_ROUTE]?: string };

/**
 * Remembers the route template when express dispatches to a route: the router resets `req.route` and
 * `req.baseUrl` when an error leaves it, so reading them when the response finishes would lose them.
 */
function trackMatchedRoute(req: TrackedRequest): void {
  let current: unknown;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set(route: { path?: unknown } | undefined) {
      current = route;
      if (route && typeof route.path === 'string') req[MATCHED_ROUTE] = `${req.baseUrl ?? ''}${route.path}`;
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
 */
export function requestLogging(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && VALID_INCOMING_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    customLogLevel(_req, res, error) {
      if (error || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return 'info';
    },
    wrapSerializers: false,
    serializers: {
      req(req: Request & { id?: unknown }) {
        return {
          id: req.id,
          method: req.method,
          path: loggablePath(req.originalUrl ?? req.url),
          remoteAddress: req.ip,
        };
      },
      res(res: ServerResponse) {
        return { statusCode: res.statusCode };
      },
    },
    // The matched route is only known when the response finishes (the req binding is made at the start).
    customSuccessObject: (req, _res, value) => ({ ...value, route: routeTemplate(req as Request) }),
    customErrorObject: (req, _res, _error, value) => ({ ...value, route: routeTemplate(req as Request) }),
    quietReqLogger: true,
  }) as unknown as RequestHandler;
}

/** Records every request's duration by method, route template and status. */
export function httpMetrics(): RequestHandler {
  return (req, res, next) => {
    trackMatchedRoute(req);
    const end = httpDuration.startTimer();
    res.once('finish', () => {
      end({ method: req.method, route: routeTemplate(req), status: String(res.statusCode) });
    });
    next();
  };
}
