import type { ApiKeyAuthenticator } from '../auth/api-keys.ts';
import type { Platform } from '../platform.ts';
import type { RouteTarget } from './operation.ts';

export interface HttpContext {
  platform: Platform;
  authenticator: ApiKeyAuthenticator;
}

/** A capability's routes, declared on the /v1 router (behind API-key authentication). */
export type RouteModule = (routes: RouteTarget, ctx: HttpContext) => void;
