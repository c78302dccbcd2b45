import type { RequestHandler } from 'express';
import { ROLES, type Role } from '../auth/roles.ts';
import type { Auth } from './operation-spec.ts';
import { problem, sendProblem } from './problem.ts';

/** Methods that read: a viewer may send these and nothing else. */
const READS = new Set(['GET', 'HEAD']);

/**
 * The one access rule, for every route, UI and in-process call (the console): an admin key may do anything; a
 * standard key anything but an admin operation or an operator UI (`admin`, `basic`); a viewer key may read
 * anything, admin reads and operator UIs included, and change nothing.
 */
export function permits(role: Role, method: string, auth: Auth): boolean {
  if (auth === 'none' || role === 'admin') return true;
  // Client keys are for browsers, and only on the Voucherify-compatible client API (src/compat/voucherify/).
  if (role === 'client') return false;
  if (role === 'viewer') return READS.has(method.toUpperCase());
  return auth === 'key';
}

/** Why `permits` said no, as the 403's detail. */
export function refusal(role: Role, auth: Auth): string {
  if (role === 'client') return 'A client key can only call the Voucherify-compatible client API (/client/v1).';
  return role === 'viewer' ? 'A viewer key can read but not change anything.' : `This needs an admin${auth === 'basic' ? '' : ' API'} key.`;
}

/** Whether some role is refused this operation (it documents a 403). */
export function refusesSomeRole(method: string, auth: Auth): boolean {
  return ROLES.some((role) => !permits(role, method, auth));
}

/** Enforces the rule on a request that authentication has already resolved to a key (`req.apiKey`). */
export function requirePermission(auth: Auth): RequestHandler {
  return (req, res, next) => {
    const role = req.apiKey?.role;
    if (role === undefined) return sendProblem(res, problem(401, 'unauthorized', 'An API key is required.'));
    if (permits(role, req.method, auth)) return next();
    sendProblem(res, problem(403, 'forbidden', refusal(role, auth)));
  };
}
