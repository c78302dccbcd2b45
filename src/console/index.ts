import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { ApiKeyAuthenticator } from '../auth/api-keys.ts';
import type { DeclaredOperation } from '../http/operation.ts';
import { problem, problemFor } from '../http/problem.ts';
import type { Platform } from '../platform.ts';
import { ActionForms, type FormAction, type Params } from './actions.ts';
import { CONSOLE_PATH, type ConsoleRequest, OperationCaller } from './context.ts';
import type { Html } from './html.ts';
import { bareLayout, layout, problemBox } from './layout.ts';
import { CONSOLE_PAGES } from './pages/index.ts';
import { loginPages, safeNext } from './pages/login.ts';
import { sendHtml } from './respond.ts';
import type { ConsoleSessions } from './sessions.ts';

export { CONSOLE_PATH };

export interface ConsoleDeps {
  platform: Platform;
  authenticator: ApiKeyAuthenticator;
  sessions: ConsoleSessions;
  /** Every operation the app declares: the console runs them in process. */
  operations: DeclaredOperation[];
}

type Handler<T> = (c: ConsoleRequest, params: Params) => Promise<T>;

/**
 * Where a console module registers what it serves. Pages and fragments answer HTML (with their server time in
 * Server-Timing); actions are FormActions (a form page and its POST); `raw` handlers write the response themselves
 * (images, downloads). Paths are relative to /console.
 */
export interface ConsoleRoutes {
  forms: ActionForms;
  page(path: string, handler: Handler<Html>): void;
  /** A piece of a page that htmx polls or swaps in (no layout). */
  fragment(path: string, handler: Handler<Html>): void;
  action(action: FormAction): void;
  raw(path: string, handler: Handler<void>): void;
}

/** A module of console pages: one per capability (campaigns, codes, webhooks, …), listed in pages/index.ts. */
export type ConsoleModule = (routes: ConsoleRoutes) => void;

const require = createRequire(import.meta.url);
const ASSET_FILES: Record<string, string> = {
  'htmx.min.js': require.resolve('htmx.org/dist/htmx.min.js'),
  'uPlot.iife.min.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
  'uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
  'console.js': fileURLToPath(new URL('./assets/console.js', import.meta.url)),
  'console.css': fileURLToPath(new URL('./assets/console.css', import.meta.url)),
};

/** The libraries come from node_modules, served by the platform: no build step, no CDN. */
function assets(): RequestHandler {
  return (req, res, next) => {
    const file = ASSET_FILES[req.path.slice(1)];
    if (!file) return next();
    res.sendFile(file, { maxAge: '1h', headers: { 'X-Content-Type-Options': 'nosniff' } });
  };
}

/** The console: server-rendered pages under /console, each behind a session, calling the API's operations. */
export function consoleRouter(deps: ConsoleDeps): Router {
  const { platform, sessions } = deps;
  const caller = new OperationCaller(deps.operations);
  const forms = new ActionForms(caller);
  const router = express.Router();
  router.use((_req, res, next) => {
    res.locals.consoleStarted = performance.now();
    next();
  });
  router.use('/assets', assets());
  router.use(express.urlencoded({ extended: false, limit: '200kb' }));
  loginPages(router, deps);

  const withSession = async (req: Request, res: Response): Promise<ConsoleRequest | null> => {
    const session = await sessions.session(req);
    if (!session) {
      const next = req.method === 'GET' && !req.get('HX-Request') ? req.originalUrl : (req.get('HX-Current-URL') ?? CONSOLE_PATH);
      const login = `${CONSOLE_PATH}/login?next=${encodeURIComponent(safeNext(next.replace(/^https?:\/\/[^/]+/, '')))}`;
      // A poll whose session ended sends the whole page to the login, instead of swapping the login page into a row.
      if (req.get('HX-Request')) res.status(401).set('HX-Redirect', login).end();
      else res.redirect(303, login);
      return null;
    }
    req.apiKey = session.identity;
    return {
      req,
      res,
      platform,
      session,
      identity: session.identity,
      canChange: session.identity.role === 'admin',
      now: platform.clock.now(),
      call: (method, path, input) => caller.call(req, res, session.identity, method, path, input),
    };
  };
  const handle =
    <T>(handler: Handler<T>, reply: (c: ConsoleRequest, result: T) => void) =>
    async (req: Request, res: Response, next: NextFunction) => {
      try {
        const c = await withSession(req, res);
        if (!c) return;
        res.locals.console = c;
        reply(c, await handler(c, req.params as Params));
      } catch (error) {
        next(error);
      }
    };
  // A handler that redirected has answered already; one that set a status (a refusal shown on the page) keeps it.
  const send = (c: ConsoleRequest, page: Html) => {
    if (!c.res.headersSent) sendHtml(c.res, page, c.res.statusCode);
  };
  const routes: ConsoleRoutes = {
    forms,
    page: (path, handler) => router.get(path, handle(handler, send)),
    fragment: (path, handler) => router.get(path, handle(handler, send)),
    raw: (path, handler) =>
      router.get(
        path,
        handle(handler, () => undefined),
      ),
    action: (action) => {
      router.get(
        action.path,
        handle((c, params) => forms.page(c, action, params), send),
      );
      router.post(
        action.path,
        handle(
          (c, params) => forms.submit(c, action, params),
          () => undefined,
        ),
      );
    },
  };
  router.get('/', (_req, res) => res.redirect(303, `${CONSOLE_PATH}/campaigns`));
  for (const module of CONSOLE_PAGES) module(routes);

  router.use((req, res) => {
    const c = res.locals.console as ConsoleRequest | undefined;
    const p = problem(404, 'route_not_found', `No console page at ${req.path}.`);
    sendHtml(res, c ? layout(c, { title: 'Not found', body: problemBox(p) }) : bareLayout('Not found', problemBox(p)), 404);
  });
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    const c = res.locals.console as ConsoleRequest | undefined;
    const known = problemFor(error);
    if (!known) req.log?.error({ err: error }, 'console page failed');
    const p = known ?? problem(500, 'internal_error', 'An unexpected error occurred.');
    sendHtml(res, c ? layout(c, { title: p.title, body: problemBox(p) }) : bareLayout(p.title, problemBox(p)), p.status);
  });
  return router;
}
