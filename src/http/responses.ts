import { z } from 'zod';
import { refusesSomeRole } from './access.ts';
import type { DeclaredOperation, ResponseSpec } from './operation-spec.ts';

/** One status an operation can answer. */
export interface StatusEntry {
  /** The declared success (or special) response; absent for a problem+json error. */
  spec?: ResponseSpec;
  /** For an error: the problem codes it may carry; undefined when any code may come (503: an infrastructure failure). */
  codes?: readonly string[];
}

/** Codes every operation of a kind can answer with at that status. */
export const COMMON_CODES: Record<number, readonly string[]> = {
  400: ['validation_failed', 'invalid_json', 'bad_request'],
  401: ['unauthorized'],
  403: ['forbidden'],
  408: ['request_body_timeout'],
  413: ['payload_too_large'],
};

/**
 * Every status an operation answers: the declared responses, its declared errors, and the errors that follow from
 * what it takes (input can be invalid, a key can be missing, a path id can name nothing, anything can be unavailable).
 * The OpenAPI document and the response check both read this table, so they agree on what an operation answers.
 */
export function statusTable(op: DeclaredOperation): Map<number, StatusEntry> {
  const { spec } = op;
  const auth = spec.auth ?? 'key';
  const table = new Map<number, StatusEntry>();
  for (const [status, response] of Object.entries(spec.responses)) table.set(Number(status), { spec: response });

  const automatic = new Map<number, Set<string>>();
  const add = (status: number, codes: readonly string[]) => {
    const set = automatic.get(status) ?? new Set<string>();
    for (const code of codes) set.add(code);
    automatic.set(status, set);
  };
  const resources = Object.values(spec.params ?? {}).flatMap((p) => (p.resource ? [`${p.resource}_not_found`] : []));
  if (spec.body || spec.query || spec.idempotent || spec.params) add(400, COMMON_CODES[400] as readonly string[]);
  // A list route pages with the one cursor (shared/paging.ts), which refuses a cursor the API did not make.
  if (spec.query instanceof z.ZodObject && 'cursor' in spec.query.shape) add(400, ['invalid_cursor']);
  if (spec.body || spec.otherBodies) {
    add(408, COMMON_CODES[408] as readonly string[]);
    add(413, COMMON_CODES[413] as readonly string[]);
  }
  if (auth !== 'none') add(401, COMMON_CODES[401] as readonly string[]);
  if (refusesSomeRole(spec.method, auth)) add(403, COMMON_CODES[403] as readonly string[]);
  if (resources.length > 0) add(404, resources);
  add(503, []);

  const declared = spec.errors ?? {};
  for (const status of new Set([...automatic.keys(), ...Object.keys(declared).map(Number)])) {
    if (table.has(status)) continue;
    table.set(status, status === 503 ? {} : { codes: [...new Set([...(automatic.get(status) ?? []), ...(declared[status] ?? [])])] });
  }
  return new Map([...table.entries()].sort(([a], [b]) => a - b));
}
