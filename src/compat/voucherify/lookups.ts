import { normalizeCode } from '../../codes/index.ts';
import { type Queryable, rowById } from '../../db/sql.ts';
import type { FailedRedemptionView } from '../../redemptions/failures.ts';
import { notFound, VOUCHERIFY_KEYS, VoucherifyApiError } from './errors.ts';
import { campaignId, voucherId } from './ids.ts';
import { isObject } from './request.ts';
import { type CampaignWithState, VOUCHER_COLUMNS, type VoucherWithCampaign } from './translate.ts';

/** A campaign deleted through the compatible API is hidden from it (DELETE /v1/campaigns/{id}). */
const NOT_DELETED = "metadata->>'voucherify_deleted' is null";

/** Reads the compatible API makes for its answers (the platform's use-cases do every write). */

const CAMPAIGN_COLUMNS = `c.*, coalesce(s.join_once, false) or coalesce((c.rules->>'join_once')::boolean, false) as join_once,
  (select w.status from (select status, created_at from generations where campaign_id = c.id
                         union all select status, created_at from imports where campaign_id = c.id) w
   order by w.created_at desc limit 1) as latest_work_status`;

export async function campaignWithState(db: Queryable, id: string): Promise<CampaignWithState> {
  const { rows } = await db.query<CampaignWithState>(
    `select ${CAMPAIGN_COLUMNS} from campaigns c left join campaign_publishing s on s.campaign_id = c.id where c.id = $1`,
    [id],
  );
  if (!rows[0]) throw notFound('campaign', campaignId.encode(id));
  return rows[0];
}

/**
 * A campaign named the ways Voucherify names one: `camp_…`, the platform's UUID, its name (case-insensitively; a
 * name several campaigns share from before names were unique is 409 `ambiguous_name`), or an object with `id` or
 * `name`.
 */
export async function resolveCampaign(db: Queryable, ref: unknown): Promise<string> {
  if (isObject(ref)) return resolveCampaign(db, ref.id ?? ref.name);
  if (typeof ref !== 'string' || ref.trim() === '') throw notFound('campaign', String(ref));
  const byId = campaignId.decode(ref);
  if (byId) {
    const { rows } = await db.query<{ id: string }>(`select id from campaigns where id = $1 and ${NOT_DELETED}`, [byId]);
    if (rows[0]) return rows[0].id;
  }
  const { rows } = await db.query<{ id: string }>(`select id from campaigns where lower(name) = lower($1) and ${NOT_DELETED} limit 2`, [
    ref.trim(),
  ]);
  if (rows.length > 1) {
    throw new VoucherifyApiError(VOUCHERIFY_KEYS.ambiguous_name, `More than one campaign is named ${ref}; address it by id.`, {
      type: 'campaign',
    });
  }
  if (!rows[0]) throw notFound('campaign', ref);
  return rows[0].id;
}

/** A voucher by code (as printed, case-insensitively) or by its `v_…` id; a deleted voucher is not found. */
export async function voucherByCode(db: Queryable, code: string): Promise<VoucherWithCampaign> {
  const { rows } = await db.query<VoucherWithCampaign>(
    `select ${VOUCHER_COLUMNS} from vouchers v join campaigns c on c.id = v.campaign_id where v.code = $1 and v.deleted_at is null`,
    [normalizeCode(code)],
  );
  const byId = rows[0] ? null : voucherId.decode(code);
  if (byId) {
    const found = await db.query<VoucherWithCampaign>(
      `select ${VOUCHER_COLUMNS} from vouchers v join campaigns c on c.id = v.campaign_id where v.id = $1 and v.deleted_at is null`,
      [byId],
    );
    if (found.rows[0]) return found.rows[0];
  }
  if (!rows[0]) throw notFound('voucher', code);
  return rows[0];
}

export async function vouchersByIds(db: Queryable, ids: string[]): Promise<Map<string, VoucherWithCampaign>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<VoucherWithCampaign>(
    `select ${VOUCHER_COLUMNS} from vouchers v join campaigns c on c.id = v.campaign_id where v.id = any($1::bigint[])`,
    [ids],
  );
  return new Map(rows.map((v) => [String(v.id), v]));
}

export async function vouchersByCodes(db: Queryable, codes: string[]): Promise<Map<string, VoucherWithCampaign>> {
  if (codes.length === 0) return new Map();
  const { rows } = await db.query<VoucherWithCampaign>(
    `select ${VOUCHER_COLUMNS} from vouchers v join campaigns c on c.id = v.campaign_id where v.code = any($1::text[])`,
    [codes.map(normalizeCode)],
  );
  return new Map(rows.map((v) => [v.code, v]));
}

/** A refused redemption by its platform id, in the view the failed-redemptions list answers (404 when none). */
export async function failedRedemptionById(db: Queryable, id: string): Promise<FailedRedemptionView> {
  return rowById<FailedRedemptionView>(
    db,
    'failed_redemptions',
    'redemption',
    id,
    `id, 'failed' as status, kind, code, campaign_id, reason, rule, customer_id, order_id, api_key_id,
     to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at`,
  );
}
