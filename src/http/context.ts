import type { Router } from 'express';
import type { ApiKeyAuthenticator } from '../auth/api-keys.ts';
import type { Platform } from '../platform.ts';

export interface HttpContext {
  platform: Platform;
  authenticator: ApiKeyAuthenticator;
}

/** A capability's routes, mounted under /v1 behind API-key authentication. */
export type RouteModule = (router: Router, ctx: HttpContext) => void;
