import type { Request, RequestHandler, Response, Router } from 'express';
import { findUnstorable } from '../../shared/storable.ts';
import { invalidPayload } from './errors.ts';
import { bodyOf, queryOf } from './request.ts';

/** One call as a compatible-API handler sees it: the parsed nested query and the body as an object. */
export interface CompatCall {
  req: Request;
  res: Response;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
  /** The raw JSON body (imports take an array). */
  rawBody: unknown;
}

export type CompatReply = { status: number; body?: unknown; headers?: Record<string, string> };
export type CompatHandler = (call: CompatCall) => Promise<CompatReply> | CompatReply;

/**
 * Declares a compatible-API route. Every request part is checked for input PostgreSQL cannot store before anything
 * reads it (as `route()` does for /v1); errors go to the router's Voucherify error handler.
 */
export function compatRoute(
  router: Router,
  method: 'get' | 'post' | 'put' | 'delete',
  path: string,
  handler: CompatHandler,
  ...guards: RequestHandler[]
): void {
  router[method](path, ...guards, async (req, res) => {
    const query = queryOf(req);
    const unstorable = findUnstorable(req.params) ?? findUnstorable(query) ?? findUnstorable(req.body ?? null);
    if (unstorable) {
      throw invalidPayload(`${unstorable.field}: ${unstorable.message}`);
    }
    const rawBody: unknown = req.body;
    const body = Array.isArray(rawBody) ? {} : bodyOf(req);
    const reply = await handler({ req, res, params: req.params as Record<string, string>, query, body, rawBody });
    if (reply.headers) res.set(reply.headers);
    res.status(reply.status);
    if (reply.body === undefined) res.end();
    else res.json(reply.body);
  });
}
