import type { Request } from 'express';
import { invalidPayload, invalidQuery, notSupported } from './errors.ts';

/**
 * What the real SDKs send, read the way they mean it: nested query strings (`filters[x][y]=1`, `created_at[after]=`),
 * bodies that are JSON `null` or a bare string (the Node SDK's `enable(code)` posts `null`), and the Node SDK's
 * double-encoded `tracking_id` and `reason` query values.
 */

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_QUERY_DEPTH = 5;

function decodeComponent(value: string): string {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    throw invalidQuery('A query value is not valid percent-encoding.');
  }
}

/** `a[b][c]=1&a[d][]=2` → `{a: {b: {c: '1'}, d: ['2']}}`, as `qs` (which both SDKs use) writes it. */
export function parseQuery(search: string): Record<string, unknown> {
  const root: Record<string, unknown> = Object.create(null);
  for (const pair of search.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    const path = match
      ? [match[1] as string, ...[...(match[2] as string).matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] as string)]
      : [rawKey];
    if (path.length > MAX_QUERY_DEPTH || path.some((p) => UNSAFE_KEYS.has(p))) {
      throw invalidQuery(`Query parameter ${rawKey} is not supported.`);
    }
    let node: Record<string, unknown> | unknown[] = root;
    path.forEach((part, i) => {
      const last = i === path.length - 1;
      const container = node as Record<string, unknown>;
      const key = part === '' && Array.isArray(node) ? String(node.length) : part;
      if (last) {
        container[key] = value;
        return;
      }
      const nextIsArray = path[i + 1] === '';
      const existing = container[key];
      if (existing === undefined || typeof existing !== 'object') container[key] = nextIsArray ? [] : Object.create(null);
      node = container[key] as Record<string, unknown>;
    });
  }
  return root;
}

/** The request's query, parsed as nested `qs` syntax. */
export function queryOf(req: Request): Record<string, unknown> {
  const url = req.originalUrl;
  const at = url.indexOf('?');
  return at < 0 ? {} : parseQuery(url.slice(at + 1));
}

/**
 * A query value the Node SDK (`voucherify` 5.x) encodes twice (`tracking_id`, `reason`): decoded once more when
 * that leaves valid text; `@voucherify/sdk` encodes once, and its values are left as they are.
 */
export function onceMoreDecoded(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/%[0-9A-Fa-f]{2}/.test(value)) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The JSON body as an object: `null`, a bare string or nothing at all are an empty body. */
export function bodyOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === null || body === undefined || typeof body === 'string') return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw invalidPayload('The body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

export type FieldRule = 'ok' | { refused: string };

/** What an endpoint takes of an object: the fields it honours, and those it refuses, each with why. */
export type FieldTable = Readonly<Record<string, FieldRule>>;

/** Why a Voucherify field the platform has no concept for is refused: one reason a field, wherever it is sent. */
const REFUSED_BECAUSE: Record<string, string> = {
  category: 'categories are not supported',
  category_id: 'categories are not supported',
  gift: 'gift cards are not supported',
  loyalty_card: 'loyalty cards are not supported',
  reward: 'loyalty rewards are not supported',
  loyalty: 'loyalty programs are not supported',
  referral: 'referrals are not supported',
  referrer: 'referrals are not supported',
  referral_program: 'referral programs are not supported',
  is_referral_code: 'referral codes are not supported',
  promotion: 'promotion tiers are not supported',
  validity_timeframe: 'validity timeframes are not supported; use validity_day_of_week',
  validity_hours: 'validity hours are not supported; use validity_day_of_week',
  additional_info: 'additional_info is not supported; use metadata',
  validation_rules: 'validation rules by id are not supported',
  auto_join: 'auto-joining customers is not supported',
  use_voucher_metadata_schema: 'metadata schemas are not supported',
  activity_duration_after_publishing: 'activity durations are not supported',
  unset_metadata_fields: 'give the whole metadata instead',
  amount_off_formula: 'formulas are not supported',
  percent_off_formula: 'formulas are not supported',
  fixed_amount_formula: 'formulas are not supported',
  unit_off_formula: 'formulas are not supported',
  is_dynamic: 'dynamic discounts are not supported',
  units: 'several unit discounts in one are not supported',
  address: 'customer addresses are not stored',
  birthdate: 'customer birthdates are not stored',
  birthday: 'customer birthdates are not stored',
  discount_quantity: 'given by the platform, not taken',
  discount_amount: 'given by the platform, not taken',
};

/**
 * A field table from space-separated names: those `honoured`, those `refused` for the reason REFUSED_BECAUSE gives,
 * and `own` refusals with a reason of the endpoint's own.
 */
export function fieldTable(honoured: string, refused = '', own: Record<string, string> = {}): FieldTable {
  const table: Record<string, FieldRule> = {};
  for (const name of honoured.split(' ').filter(Boolean)) table[name] = 'ok';
  for (const name of refused.split(' ').filter(Boolean)) {
    const why = REFUSED_BECAUSE[name];
    if (why === undefined) throw new Error(`no reason to refuse ${name}: give it in own`);
    table[name] = { refused: why };
  }
  for (const [name, why] of Object.entries(own)) table[name] = { refused: why };
  return Object.freeze(table);
}

/**
 * Checks an object's fields against what the endpoint honours: a refused field, or one the endpoint does not know,
 * is a 400 `not_supported` naming it (`path.field`). Nothing is silently ignored.
 */
export function checkFields(value: unknown, path: string, rules: FieldTable): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidPayload(`${path || '(body)'}: must be an object`);
  }
  const object = value as Record<string, unknown>;
  for (const [field, given] of Object.entries(object)) {
    if (given === undefined) continue;
    const rule = rules[field];
    const name = path ? `${path}.${field}` : field;
    if (rule === undefined) throw notSupported(name, 'this field is not supported by the compatible API');
    if (rule !== 'ok' && given !== null && given !== false) throw notSupported(name, rule.refused);
  }
  return object;
}

/** A field's value when it has one of the given types, else a 400 naming it. */
export function typed<T>(value: unknown, field: string, check: (v: unknown) => v is T, expected: string): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (!check(value)) {
    throw invalidPayload(`${field}: must be ${expected}`);
  }
  return value;
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isInteger = (v: unknown): v is number => Number.isInteger(v);
export const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `true`/`false` as a query value or JSON boolean. */
export function flag(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalidPayload(`${field}: must be true or false`);
}

/** A positive integer query value (`page`, `limit`, `vouchers_count`) within bounds. */
export function intParam(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalidQuery(`${field}: must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** An ISO date, as Voucherify takes `start_date` / `expiration_date`. */
export function dateField(value: unknown, field: string): Date | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  const date = typeof value === 'string' ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw invalidPayload(`${field}: must be an ISO 8601 date`);
  }
  return date;
}

export function metadataOf(value: unknown, field = 'metadata'): Record<string, unknown> | undefined {
  return value === undefined || value === null ? undefined : typed(value, field, isObject, 'an object');
}
