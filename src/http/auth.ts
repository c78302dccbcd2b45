import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApiKeyAuthenticator, ApiKeyIdentity } from '../auth/api-keys.ts';
import { problem, sendProblem } from './problem.ts';

declare module 'express-serve-static-core' {
  interface Request {
    apiKey?: ApiKeyIdentity;
  }
}

/** `scheme credentials` and nothing else (RFC 9110 §11.4, with the credentials as one token). */
const AUTHORIZATION = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(\S+)$/;

type Presented = { key: string } | { malformed: true } | null;

/**
 * The presented key: `Authorization: Bearer <key>`, or HTTP Basic with the key as password (for browser UIs).
 * A header with anything beyond the scheme and one credential (`Bearer <key> junk`) is malformed, never
 * read as its first two words.
 */
function presentedKey(req: Request): Presented {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const match = AUTHORIZATION.exec(header);
  if (!match) return { malformed: true };
  const scheme = (match[1] as string).toLowerCase();
  const value = match[2] as string;
  if (scheme === 'bearer') return { key: value };
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return { malformed: true };
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && colon < decoded.length - 1 ? { key: decoded.slice(colon + 1) } : { malformed: true };
  }
  return { malformed: true };
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
    const presented = presentedKey(req);
    // Without any Authorization header, a browser may be signed in to the console instead.
    const session = presented ? undefined : options.session;
    const identity = presented
      ? 'key' in presented
        ? await authenticator.authenticate(presented.key)
        : null
      : ((await session?.(req)) ?? null);
    if (!identity) {
      if (options.browserChallenge) res.setHeader('WWW-Authenticate', 'Basic realm="promo", charset="UTF-8"');
      else res.setHeader('WWW-Authenticate', 'Bearer');
      const detail = !presented
        ? 'An API key is required.'
        : 'malformed' in presented
          ? 'The Authorization header must be `Bearer <key>` (or HTTP Basic with the key as password), with nothing after the key.'
          : 'The API key is not valid.';
      return sendProblem(res, problem(401, 'unauthorized', detail));
    }
    req.apiKey = identity;
    next();
  };
}
