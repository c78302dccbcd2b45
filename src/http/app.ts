import express, { type Express } from 'express';
import { httpMetrics, requestLogging } from '../observability/http.ts';
import { metricsHandler } from '../observability/metrics-endpoint.ts';
import type { Platform } from '../platform.ts';
import { ADMIN_STATS_PATH, adminStatsRouter } from './admin-stats.ts';
import { requireApiKey } from './auth.ts';
import { BULL_BOARD_PATH, bullBoardRouter } from './bull-board.ts';
import type { HttpContext } from './context.ts';
import { corsFromConfig, requestTimeout, securityHeaders, trustProxySetting } from './edge.ts';
import { mountApiDocs } from './openapi.ts';
import { openApiDocument } from './openapi-routes.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';
import { PUBLIC_PATH, publicLinksRouter } from './public-links.ts';
import { v1RouteModules } from './routes/index.ts';

export function createApp(platform: Platform): { app: Express; ctx: HttpContext } {
  const app = express();
  const ctx: HttpContext = { platform, authenticator: platform.apiKeys };
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

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
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
    const [postgres, redis] = checks;
    const ready = postgres === 'ok' && redis === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'unavailable', checks: { postgres, redis } });
  });

  // The API first: express tries mounts in order, and checkout traffic should not walk past the UIs' routes.
  const v1 = express.Router();
  v1.use(requireApiKey(ctx.authenticator));
  // Up to 10,000 inline recipients per distribution need more than the general body limit.
  v1.use('/campaigns/:id/distributions', express.json({ limit: '8mb', type: ['application/json', 'application/*+json'] }));
  v1.use(express.json({ limit: config.HTTP_BODY_LIMIT, type: ['application/json', 'application/*+json'] }));
  for (const mount of v1RouteModules) mount(v1, ctx);
  app.use('/v1', v1);
  app.use(PUBLIC_PATH, publicLinksRouter(platform));

  // On the API port only when no separate METRICS_PORT is configured, and then behind an admin key (the series
  // name API keys and campaigns).
  if (config.METRICS_PORT === undefined) app.get('/metrics', requireApiKey(ctx.authenticator, { role: 'admin' }), metricsHandler());

  mountApiDocs(app, openApiDocument);

  app.use(BULL_BOARD_PATH, requireApiKey(ctx.authenticator, { browserChallenge: true, role: 'admin' }), bullBoardRouter(platform.queues));
  app.use(ADMIN_STATS_PATH, requireApiKey(ctx.authenticator, { browserChallenge: true, role: 'admin' }), adminStatsRouter(platform));

  app.use((req, res) => sendProblem(res, problem(404, 'route_not_found', `No route for ${req.method} ${req.path}.`)));
  app.use(errorHandler(platform.logger));
  return { app, ctx };
}
