import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { originAllowedForSomeClientKey } from '../../auth/api-keys.ts';
import { SegmentCache } from '../../customers/checkout-context.ts';
import { permits } from '../../http/access.ts';
import type { HttpContext } from '../../http/context.ts';
import { CandidateLookup } from '../../redemptions/lookup.ts';
import { clientRoutes } from './client.ts';
import type { CompatContext } from './context.ts';
import { VOUCHERIFY_KEYS, VoucherifyApiError, voucherifyErrorHandler } from './errors.ts';
import { serverRoutes } from './server.ts';

const unauthorized = (details: string) => new VoucherifyApiError(VOUCHERIFY_KEYS.unauthorized, details);

/** Server-side calls: `X-App-Id` is the platform API key's id, `X-App-Token` the key itself. */
function serverAuth(ctx: HttpContext): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const appId = req.get('X-App-Id');
    const token = req.get('X-App-Token');
    if (!appId || !token) return next(unauthorized('X-App-Id and X-App-Token are required.'));
    const identity = await ctx.authenticator.authenticate(token);
    if (!identity || identity.id !== appId) return next(unauthorized('The application id and token do not match a key.'));
    if (!permits(identity.role, req.method, 'key')) {
      return next(new VoucherifyApiError(VOUCHERIFY_KEYS.forbidden, `A ${identity.role} key cannot make this call.`));
    }
    req.apiKey = identity;
    next();
  };
}

/**
 * Client-side calls (browsers): `X-Client-Application-Id` and `X-Client-Token` of a `client` key, from one of its
 * allowed origins. Preflights carry no key: they are answered for an origin some live client key allows.
 */
function clientAuth(ctx: HttpContext): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const origin = req.get('Origin');
    if (req.method === 'OPTIONS') {
      if (origin && (await originAllowedForSomeClientKey(ctx.platform.db, origin))) {
        res.set({
          'Access-Control-Allow-Origin': origin,
          'Access-Control-Allow-Methods': 'GET, POST, PUT, OPTIONS',
          'Access-Control-Allow-Headers':
            'Content-Type, X-Client-Application-Id, X-Client-Token, X-Voucherify-Channel, X-Voucherify-Double-Opt-In',
          'Access-Control-Max-Age': '600',
          Vary: 'Origin',
        });
        return void res.status(204).end();
      }
      return next(new VoucherifyApiError(VOUCHERIFY_KEYS.forbidden, 'This origin is not allowed.'));
    }
    const appId = req.get('X-Client-Application-Id');
    const token = req.get('X-Client-Token');
    if (!appId || !token) return next(unauthorized('X-Client-Application-Id and X-Client-Token are required.'));
    const identity = await ctx.authenticator.authenticate(token);
    if (!identity || identity.id !== appId) return next(unauthorized('The client application id and token do not match a key.'));
    if (identity.role !== 'client') return next(new VoucherifyApiError(VOUCHERIFY_KEYS.forbidden, 'Client calls need a client key.'));
    if (!origin || !(identity.allowed_origins ?? []).includes(origin)) {
      return next(new VoucherifyApiError(VOUCHERIFY_KEYS.forbidden, 'This origin is not allowed for this key.'));
    }
    res.set({ 'Access-Control-Allow-Origin': origin, Vary: 'Origin' });
    req.apiKey = identity;
    next();
  };
}

/**
 * The Voucherify-compatible API (issue 15), mounted at VOUCHERIFY_COMPAT_PREFIX: `/v1/...` for server-side SDKs,
 * `/client/v1/...` for client-side ones. A translation layer over the platform's use-cases; its errors are
 * Voucherify's body; every path it does not serve is 404 `not_supported`.
 */
export function voucherifyRouter(http: HttpContext): Router {
  const ctx: CompatContext = {
    platform: http.platform,
    candidates: new CandidateLookup(http.platform.db),
    segments: new SegmentCache(http.platform.db),
  };
  const { config } = http.platform;
  const router = express.Router();
  // JSON `null` and bare strings are bodies the SDKs send (strict: false); imports take a larger array.
  const json = express.json({ limit: config.HTTP_BODY_LIMIT, strict: false, type: ['application/json', 'application/*+json'] });

  const server = express.Router();
  server.use(serverAuth(http));
  server.use((req, res, next) => (req.path.endsWith('/import') ? next() : json(req, res, next)));
  serverRoutes(server, ctx);
  router.use('/v1', server);

  const client = express.Router();
  client.use(clientAuth(http));
  client.use(json);
  clientRoutes(client, ctx);
  router.use('/client/v1', client);

  router.use((req, _res, next) =>
    next(new VoucherifyApiError(VOUCHERIFY_KEYS.route_not_supported, `${req.method} ${req.path} is not supported by the compatible API.`)),
  );
  router.use(voucherifyErrorHandler(http.platform.logger));
  return router;
}
