/** admin: everything; standard: everything but admin operations; viewer: reads everything, changes nothing. */
export const ROLES = ['admin', 'standard', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
