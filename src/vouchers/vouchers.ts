import { normalizeCode } from '../codes/index.ts';
import type { Queryable } from '../db/sql.ts';
import { NotFoundError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { type CursorKey, pageOf } from '../shared/paging.ts';
import type { VoucherView } from './schemas.ts';

export interface VoucherRow {
  id: string;
  code: string;
  campaign_id: string;
  generation_id: string | null;
  /** The import that brought the code (src/imports/); null for generated and standalone codes. */
  import_id?: string | null;
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

export function voucherView(v: VoucherRow): VoucherView {
  return {
    code: v.code,
    campaign_id: v.campaign_id,
    generation_id: v.generation_id,
    import_id: v.import_id ?? null,
    status: v.status as VoucherView['status'],
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

/** A campaign's vouchers in insertion order, a page at a time. */
export async function listCampaignVouchers(
  db: Queryable,
  campaignId: string,
  limit: number,
  after?: CursorKey,
): Promise<{ data: VoucherView[]; next_cursor: string | null }> {
  const { rows } = await db.query<VoucherRow>('select * from vouchers where campaign_id = $1 and id > $2 order by id limit $3', [
    campaignId,
    after?.[0] ?? '0',
    limit + 1,
  ]);
  const page = pageOf(rows, limit, (v) => [String(v.id)]);
  return { data: page.data.map(voucherView), next_cursor: page.next_cursor };
}

/** Erasure of a customer: the codes published to it keep `published_at` (they are not published again) but lose their holder. */
export async function eraseVoucherHolder(tx: Queryable, customerId: string): Promise<number> {
  const { rowCount } = await tx.query('update vouchers set holder_customer_id = null, updated_at = now() where holder_customer_id = $1', [
    customerId,
  ]);
  return rowCount ?? 0;
}
