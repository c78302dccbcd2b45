/**
 * admin: everything; standard: everything but admin operations; viewer: reads everything, changes nothing; client:
 * nothing under /v1, only the browser-facing calls of the Voucherify-compatible client API (validate, redeem,
 * publish, events) from the origins the key allows.
 */
export const ROLES = ['admin', 'standard', 'viewer', 'client'] as const;
export type Role = (typeof ROLES)[number];
