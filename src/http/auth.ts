import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApiKeyAuthenticator, ApiKeyIdentity } from '../auth/api-keys.ts';
import { problem, sendProblem } from './problem.ts';

declare module 'express-serve-static-core' {
  interface Request {
    apiKey?: ApiKeyIdentity;
  }
}

/** The presented key: `Authorization: Bearer <key>`, or HTTP Basic with the key as password (for browser UIs). */
function presentedKey(req: Request): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return null;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : null;
  }
  return null;
}

export interface AuthOptions {
  /** Ask browsers for credentials (Bull Board, stats page) instead of answering with JSON only. */
  browserChallenge?: boolean;
  /** Without an Authorization header, the key of the browser's console session, if any (src/console/sessions.ts). */
  session?: (req: Request) => Promise<ApiKeyIdentity | null>;
}

/** Authentication only: which key this is. What the key may do is access.ts's one rule. */
export function requireApiKey(authenticator: ApiKeyAuthenticator, options: AuthOptions = {}): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = presentedKey(req);
    const session = !key && !req.headers.authorization ? options.session : undefined;
    const identity = key ? await authenticator.authenticate(key) : ((await session?.(req)) ?? null);
    if (!identity) {
      if (options.browserChallenge) res.setHeader('WWW-Authenticate', 'Basic realm="promo", charset="UTF-8"');
      else res.setHeader('WWW-Authenticate', 'Bearer');
      return sendProblem(res, problem(401, 'unauthorized', key ? 'The API key is not valid.' : 'An API key is required.'));
    }
    req.apiKey = identity;
    next();
  };
}
