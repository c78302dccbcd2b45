import { z } from 'zod';

/**
 * The one way list routes page: keyset pagination on the rows' sort key, with an opaque cursor (base64url of the
 * JSON of the last row's key) that names a position, not a page number, so rows added meanwhile are neither skipped
 * nor shown twice. A cursor that does not decode to the key its list expects is a 400 `invalid_cursor`.
 */

export type CursorKey = readonly (string | number)[];

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The `cursor` query parameter of a list sorted by `key`: parses to the decoded key. */
export function cursorParam<K extends z.ZodType<CursorKey>>(key: K) {
  return z
    .string()
    .max(500)
    .transform((value, ctx): z.output<K> => {
      try {
        const decoded = key.safeParse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
        if (decoded.success) return decoded.data;
      } catch {}
      ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned', params: { problem: 'invalid_cursor' } });
      return z.NEVER;
    })
    .describe('Where to continue: the `next_cursor` of the previous page');
}

/** A bigint sort key (a sequence or serial id), kept as its decimal text. */
export const serialKey = z.tuple([z.string().regex(/^\d{1,19}$/)]);

/** `limit`: how many rows a page holds. */
export function pageLimit(max = 1000, fallback = 100) {
  return z.coerce.number().int().min(1).max(max).default(fallback).describe(`Rows per page (at most ${max})`);
}

/** A page of `item`s as a list route answers it. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
  });
}

/** Cuts a page from rows fetched with `limit + 1` (the extra row says whether a next page exists). */
export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => CursorKey): { data: T[]; next_cursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return { data, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}

/** A whole (short) list as a route answers it. */
export function listSchema<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item) });
}
