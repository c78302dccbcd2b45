import type { ApiKeyAuthenticator } from '../auth/api-keys.ts';
import type { Platform } from '../platform.ts';
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
