import express, { type Express } from 'express';
import { ApiKeyAuthenticator } from '../auth/api-keys.ts';
import type { Platform } from '../platform.ts';
import { requireApiKey } from './auth.ts';
import { BULL_BOARD_PATH, bullBoardRouter } from './bull-board.ts';
import type { HttpContext } from './context.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';
import { v1RouteModules } from './routes/index.ts';

export function createApp(platform: Platform): { app: Express; ctx: HttpContext } {
  const app = express();
  const ctx: HttpContext = { platform, authenticator: new ApiKeyAuthenticator(platform.db) };
  app.disable('x-powered-by');
  app.set('trust proxy', false);

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

  app.use(BULL_BOARD_PATH, requireApiKey(ctx.authenticator, { browserChallenge: true, role: 'admin' }), bullBoardRouter(platform.queues));

  const v1 = express.Router();
  v1.use(requireApiKey(ctx.authenticator));
  v1.use(express.json({ limit: '1mb', type: ['application/json', 'application/*+json'] }));
  for (const mount of v1RouteModules) mount(v1, ctx);
  app.use('/v1', v1);

  app.use((req, res) => sendProblem(res, problem(404, 'route_not_found', `No route for ${req.method} ${req.path}.`)));
  app.use(errorHandler(platform.logger));
  return { app, ctx };
}
