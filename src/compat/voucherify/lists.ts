import type { Queryable } from '../../db/sql.ts';
import { notSupported } from './errors.ts';
import { intParam } from './request.ts';

/**
 * Voucherify's lists over the platform's keyset pages: `page` and `limit` (at most 99 pages of 100, as Voucherify),
 * the query parameters a list honours, its `total`, and the envelope it answers in.
 */

const MAX_PAGE = 99;
const MAX_LIMIT = 100;

/** Walks the platform's keyset pages to Voucherify's page number (at most 99 pages of 100, as Voucherify). */
export async function pageOfPages<T, C>(
  page: number,
  limit: number,
  fetch: (limit: number, cursor: C | undefined) => Promise<{ data: T[]; next: C | undefined }>,
): Promise<T[]> {
  let cursor: C | undefined;
  for (let p = 1; ; p++) {
    const { data, next } = await fetch(limit, cursor);
    if (p === page) return data;
    if (next === undefined) return [];
    cursor = next;
  }
}

export function paging(query: Record<string, unknown>): { page: number; limit: number } {
  return { page: intParam(query.page, 'page', 1, MAX_PAGE, 1), limit: intParam(query.limit, 'limit', 1, MAX_LIMIT, 10) };
}

/** Query parameters a list honours; any other is 400 `not_supported` naming it. */
export function onlyParams(query: Record<string, unknown>, allowed: string[]): void {
  for (const name of Object.keys(query)) {
    if (!allowed.includes(name)) throw notSupported(name, 'this query parameter is not supported by the compatible API');
  }
}

/** Rows a list matches, counted exactly up to 100,000 and estimated by the planner above (the docs say so). */
export async function countUpTo(db: Queryable, fromWhere: string, params: unknown[]): Promise<number> {
  const cap = 100_000;
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from (select 1 ${fromWhere} limit ${cap + 1}) t`, params);
  const n = rows[0]?.n ?? 0;
  if (n <= cap) return n;
  const plan = await db.query<{ 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }>(`explain (format json) select 1 ${fromWhere}`, params);
  return Math.max(n, Math.round(plan.rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? n));
}

/** Voucherify's list envelope. */
export function listEnvelope<K extends string, T>(name: K, items: T[], total: number) {
  return { object: 'list' as const, data_ref: name, [name]: items, total } as { object: 'list'; data_ref: K; total: number } & Record<
    K,
    T[]
  >;
}
