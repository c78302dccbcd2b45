import { createRequire } from 'node:module';
import express, { type Express, type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { apiKeyAuthenticatorFor } from '../auth/api-keys.ts';
import { voucherifyRouter } from '../compat/voucherify/index.ts';
import { CONSOLE_PATH, consoleRouter } from '../console/index.ts';
import { ConsoleSessions } from '../console/sessions.ts';
import { businessEventEnvelopeSchema, EVENT_CATALOG, EVENT_ENVELOPES, PLATFORM_EVENT_TYPES } from '../events/catalog.ts';
import { httpMetrics, requestLogging } from '../observability/http.ts';
import type { Platform } from '../platform.ts';
import { registry } from '../shared/metrics.ts';
import { requirePermission } from './access.ts';
import { adminStatsPage } from './admin-stats.ts';
import { requireApiKey } from './auth.ts';
import { BULL_BOARD_PATH, bullBoardRouter } from './bull-board.ts';
import type { HttpContext } from './context.ts';
import { corsFromConfig, requestTimeout, securityHeaders, trustProxySetting } from './edge.ts';
import { buildOpenApiDocument, swaggerAssetsRouter, swaggerIndexHtml, type WebhookDoc } from './openapi.ts';
import { type Auth, type DeclaredOperation, mount, type RouteTarget, route } from './operation.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';
import { publicLinkRoutes } from './public-links.ts';
import { v1RouteModules } from './routes/index.ts';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const DOCUMENT_INFO = {
  title: 'promo API',
  version,
  description: [
    'Self-hosted promo-code platform: campaigns, million-code generation, validation and redemption, publication by e-mail/SMS, webhooks, stats and exports.',
    '',
    'Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457 problem+json with a stable `code`. Every response carries `X-Request-Id`.',
  ].join('\n'),
};

/** What webhooks deliver, one entry per event type of the catalogue and one for business events passed on. */
function webhookDocs(): WebhookDoc[] {
  return [
    ...PLATFORM_EVENT_TYPES.map((type) => ({ name: type, summary: EVENT_CATALOG[type].summary, body: EVENT_ENVELOPES[type] })),
    {
      name: 'business-event',
      summary: 'A business event reported with POST /v1/events, passed on under its own type (e.g. order.created)',
      body: businessEventEnvelopeSchema,
    },
  ];
}

const html = { 'text/html': { schema: { type: 'string' } } };

export interface App {
  app: Express;
  ctx: HttpContext;
  /** Every operation the app serves, as declared: what /openapi.json documents. */
  operations: DeclaredOperation[];
}

export function createApp(platform: Platform): App {
  const app = express();
  const ctx: HttpContext = { platform, authenticator: apiKeyAuthenticatorFor(platform) };
  const { config } = platform;
  app.disable('x-powered-by');
  // Edge: request id + access log, metrics, timeouts, security headers, CORS only when configured.
  app.set('trust proxy', trustProxySetting(config.TRUST_PROXY));
  app.use(requestLogging(platform.logger));
  app.use(httpMetrics());
  app.use(requestTimeout(config.HTTP_REQUEST_TIMEOUT_MS, config.HTTP_UPLOAD_TIMEOUT_MS));
  app.use(securityHeaders());
  const cors = corsFromConfig(config.CORS_ORIGINS);
  if (cors) app.use(cors);

  const operations: DeclaredOperation[] = [];
  const sessions = new ConsoleSessions(platform);
  const anyKey = requireApiKey(ctx.authenticator);
  // Operator UIs (Bull Board, /admin/stats) take a key as Basic password, or the console's session.
  const browserKey = requireApiKey(ctx.authenticator, { browserChallenge: true, session: (req) => sessions.identify(req) });
  const target = (router: Router, prefix: string, guard: (auth: Auth) => RequestHandler[]): RouteTarget => ({
    router,
    prefix,
    operations,
    guard,
    validateResponses: config.HTTP_RESPONSE_VALIDATION,
  });
  const root = target(express.Router(), '', (auth) =>
    auth === 'none' ? [] : [auth === 'basic' ? browserKey : anyKey, requirePermission(auth)],
  );

  route(
    root,
    {
      method: 'get',
      path: '/healthz',
      tag: 'operations',
      auth: 'none',
      summary: 'Liveness: the process is up',
      responses: { 200: { description: 'Up', schema: z.object({ status: z.literal('ok') }) } },
    },
    () => ({ status: 200, body: { status: 'ok' as const } }),
  );

  const readiness = z.object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.object({ postgres: z.string(), redis: z.string() }).describe('`ok`, or why not'),
  });
  route(
    root,
    {
      method: 'get',
      path: '/readyz',
      tag: 'operations',
      auth: 'none',
      summary: 'Readiness: PostgreSQL and Redis answer',
      responses: {
        200: { description: 'Ready', schema: readiness },
        503: { description: 'Not ready', schema: readiness },
      },
    },
    async () => {
      const checks = await Promise.all([
        platform.db.query('select 1').then(
          () => 'ok',
          (e: Error) => e.message,
        ),
        platform.redis.ping().then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      ]);
      const [postgres = '', redis = ''] = checks;
      const ready = postgres === 'ok' && redis === 'ok';
      return { status: ready ? 200 : 503, body: { status: ready ? 'ok' : 'unavailable', checks: { postgres, redis } } } as const;
    },
  );

  // The API first: express tries mounts in order, and checkout traffic should not walk past the UIs' routes.
  const v1 = express.Router();
  v1.use(anyKey);
  // Up to 10,000 inline recipients per distribution need more than the general body limit.
  v1.use('/campaigns/:id/distributions', express.json({ limit: '8mb', type: ['application/json', 'application/*+json'] }));
  // JSON imports are arrays of codes (CSV uploads are streamed, of any size).
  v1.use(
    '/campaigns/:id/imports',
    express.json({ limit: config.IMPORT_JSON_BODY_LIMIT, type: ['application/json', 'application/*+json'] }),
  );
  v1.use(express.json({ limit: config.HTTP_BODY_LIMIT, type: ['application/json', 'application/*+json'] }));
  // The router above checked the key; every operation checks what the key's role may do.
  const v1Routes = target(v1, '/v1', (auth) => [requirePermission(auth)]);
  for (const mountModule of v1RouteModules) mountModule(v1Routes, ctx);
  root.router.use('/v1', v1);

  const publicLinks = express.Router();
  publicLinkRoutes(
    target(publicLinks, '/public', () => []),
    platform,
  );
  root.router.use('/public', publicLinks);

  // On the API port only when no separate METRICS_PORT is configured, and then behind an admin key (the series
  // name API keys and campaigns).
  if (config.METRICS_PORT === undefined) {
    route(
      root,
      {
        method: 'get',
        path: '/metrics',
        tag: 'operations',
        auth: 'admin',
        summary: 'Prometheus metrics (when METRICS_PORT is not set)',
        description:
          'Text exposition format; needs an admin API key. With METRICS_PORT set, metrics move to that port without authentication and this route is absent.',
        responses: {
          200: {
            description: 'Metrics',
            content: { 'text/plain': { schema: { type: 'string' }, example: 'promo_codes_generated_total 1000000\n' } },
          },
        },
      },
      async ({ res }) => {
        const body = await registry.metrics();
        res.type(registry.contentType).send(body);
        return undefined;
      },
    );
  }

  let document: Record<string, unknown> | undefined;
  route(
    root,
    {
      method: 'get',
      path: '/openapi.json',
      tag: 'operations',
      auth: 'none',
      summary: 'This OpenAPI 3.1 document',
      responses: { 200: { description: 'The document', schema: z.record(z.string(), z.unknown()) } },
    },
    () => {
      document ??= buildOpenApiDocument(operations, DOCUMENT_INFO, webhookDocs());
      return { status: 200, body: document };
    },
  );
  route(
    root,
    {
      method: 'get',
      path: '/docs',
      tag: 'operations',
      auth: 'none',
      summary: 'Browsable API reference (Swagger UI, served by the platform itself)',
      responses: { 200: { description: 'HTML page', content: html }, 301: { description: 'Redirect to /docs/' } },
    },
    async ({ req, res }) => {
      if (!req.originalUrl.split('?')[0]?.endsWith('/')) res.redirect(301, '/docs/');
      else res.type('html').send(await swaggerIndexHtml());
      return undefined;
    },
  );
  root.router.use('/docs', swaggerAssetsRouter());

  mount(
    root,
    {
      method: 'get',
      path: BULL_BOARD_PATH,
      tag: 'operations',
      auth: 'basic',
      summary: 'Bull Board: every queue, its jobs and progress (admin key as Basic password)',
      responses: { 200: { description: 'HTML page', content: html } },
    },
    bullBoardRouter(platform.queues),
  );
  adminStatsPage(root, platform);
  mount(
    root,
    {
      method: 'get',
      path: CONSOLE_PATH,
      tag: 'operations',
      auth: 'none',
      summary: 'Operator console: campaigns, codes, webhooks, deliveries and jobs (HTML; log in with an admin or viewer key)',
      responses: { 200: { description: 'HTML page', content: html }, 303: { description: 'Redirect to the console login' } },
    },
    consoleRouter({ platform, authenticator: ctx.authenticator, sessions, operations }),
  );

  // The Voucherify-compatible API (issue 15): its own prefix, auth headers and error body; off when the prefix is empty.
  if (config.VOUCHERIFY_COMPAT_PREFIX) app.use(config.VOUCHERIFY_COMPAT_PREFIX, voucherifyRouter(ctx));
  app.use(root.router);
  app.use((req, res) => sendProblem(res, problem(404, 'route_not_found', `No route for ${req.method} ${req.path}.`)));
  app.use(errorHandler(platform.logger));
  return { app, ctx, operations };
}
