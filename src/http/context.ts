import type { Request } from 'express';
import type { ApiKeyAuthenticator } from '../auth/api-keys.ts';
import type { Platform } from '../platform.ts';
import type { Actor } from '../shared/events.ts';
import { type Auth, type ModuleRoutes, type RouteTarget, routesOf } from './operation.ts';

export interface HttpContext {
  platform: Platform;
  authenticator: ApiKeyAuthenticator;
}

/** A capability's routes, declared on the /v1 router (behind API-key authentication). */
export type RouteModule = (routes: RouteTarget, ctx: HttpContext) => void;

/** A route module declared compactly: `routeModule({ tag: 'exports' }, (api, { platform }) => { api.get(...) })`. */
export function routeModule(defaults: { tag: string; auth?: Auth }, declare: (api: ModuleRoutes, ctx: HttpContext) => void): RouteModule {
  return (routes, ctx) => declare(routesOf(routes, defaults), ctx);
}

/** Who does a request's write and when, as the domain's writers take them last: its API key (null without one), now. */
export function writer(req: Request, platform: Platform): [actor: Actor, now: Date] {
  return [req.apiKey?.id ?? null, platform.clock.now()];
}
