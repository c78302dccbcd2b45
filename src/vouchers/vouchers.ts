import { normalizeCode } from '../codes/index.ts';
import type { Queryable } from '../db/sql.ts';
import { NotFoundError } from '../shared/errors.ts';

export interface VoucherRow {
  id: string;
  code: string;
  campaign_id: string;
  generation_id: string | null;
  status: string;
  active: boolean;
  redemption_count: number;
  start_date: Date | string | null;
  expiration_date: Date | string | null;
  rules: Record<string, unknown> | null;
  metadata: Record<string, unknown> | null;
  holder_customer_id?: string | null;
  created_at: Date | string;
  updated_at: Date | string | null;
}

/**
 * A timestamp as ISO 8601, whether it comes from a column (Date) or from inside a jsonb value (text): views
 * always answer in one format.
 */
export function isoTime(value: Date | string): string;
export function isoTime(value: Date | string | null): string | null;
export function isoTime(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

export function voucherView(v: VoucherRow) {
  return {
    code: v.code,
    campaign_id: v.campaign_id,
    generation_id: v.generation_id,
    status: v.status,
    active: v.active,
    redemption_count: v.redemption_count,
    start_date: isoTime(v.start_date),
    expiration_date: isoTime(v.expiration_date),
    rules: v.rules ?? {},
    holder_customer_id: v.holder_customer_id ?? null,
    metadata: v.metadata ?? {},
    created_at: isoTime(v.created_at),
    updated_at: isoTime(v.updated_at),
  };
}

/** Looks a voucher up by code, case-insensitively and ignoring surrounding spaces. */
export async function findVoucherByCode(db: Queryable, code: string): Promise<VoucherRow> {
  const { rows } = await db.query<VoucherRow>('select * from vouchers where code = $1', [normalizeCode(code)]);
  if (!rows[0]) throw new NotFoundError('voucher', code);
  return rows[0];
}

/** Keyset pagination in insertion order: the cursor is the last voucher's internal id, opaque to callers. */
export async function listCampaignVouchers(
  db: Queryable,
  campaignId: string,
  limit: number,
  cursor?: string,
): Promise<{ data: VoucherRow[]; nextCursor: string | null }> {
  const after = cursor ? decodeCursor(cursor) : 0n;
  const { rows } = await db.query<VoucherRow>('select * from vouchers where campaign_id = $1 and id > $2 order by id limit $3', [
    campaignId,
    after.toString(),
    limit + 1,
  ]);
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return { data, nextCursor: rows.length > limit && last ? encodeCursor(BigInt(last.id)) : null };
}

export function encodeCursor(id: bigint): string {
  return Buffer.from(`v1:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): bigint {
  const match = /^v1:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new InvalidCursorError();
  return BigInt(match[1] as string);
}

import { ValidationError } from '../shared/errors.ts';
export class InvalidCursorError extends ValidationError {
  constructor() {
    super([{ field: 'cursor', message: 'is not a cursor this API returned' }], 'invalid_cursor', 'The cursor is not valid.');
  }
}
