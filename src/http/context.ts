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

/** A handler that answers 200 with what a domain write returns, given who writes and when (`writer`) last. */
export function written<I extends { req: Request }, B>(platform: Platform, write: (input: I, actor: Actor, now: Date) => Promise<B>) {
  return async (input: I): Promise<{ status: 200; body: B }> => ({ status: 200, body: await write(input, ...writer(input.req, platform)) });
}
