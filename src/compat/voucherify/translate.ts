import type { CampaignRow } from '../../campaigns/campaigns.ts';
import type { FailedRedemptionView } from '../../redemptions/failures.ts';
import type { RedemptionView } from '../../redemptions/schemas.ts';
import { type Discount, effectiveRules, type Rules } from '../../rules/index.ts';
import { isoTime } from '../../shared/fields.ts';
import type { VoucherRow } from '../../vouchers/vouchers.ts';
import { notSupported, REFUSALS, refusalDetails } from './errors.ts';
import { campaignId, customerId, failedRedemptionId, redemptionId, rollbackId, voucherId } from './ids.ts';
import { checkFields, fieldTable, isInteger, isNumber, typed } from './request.ts';

/**
 * Translation between Voucherify's objects and the platform's, both ways. Only shapes and names change here: every
 * decision (limits, dates, discounts) is the platform's, through its use-cases.
 */

const DISCOUNT_FIELDS = fieldTable(
  'type percent_off amount_off amount_limit fixed_amount unit_off unit_type effect',
  'amount_off_formula percent_off_formula fixed_amount_formula unit_off_formula is_dynamic units',
);

/**
 * Voucherify amounts are integers in the currency's minor unit (1000 = 10.00): the platform's minor units. Effects
 * map to where the discount applies: APPLY_TO_ORDER (the order), APPLY_TO_ITEMS (the lines of `sku`/`product` ids
 * in `applicable_to`, refused here: give the platform rule instead), UNIT discounts to `unit` with the sku as match.
 */
export function discountToPlatform(value: unknown, currency: string, path = 'discount'): Discount | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  const d = checkFields(value, path, DISCOUNT_FIELDS);
  if (d.type === 'UNIT') {
    if (d.effect !== undefined && d.effect !== 'ADD_MISSING_ITEMS' && d.effect !== 'ADD_NEW_ITEMS') {
      throw notSupported(`${path}.effect`, 'ADD_MISSING_ITEMS or ADD_NEW_ITEMS');
    }
    const units = typed(d.unit_off, `${path}.unit_off`, isInteger, 'an integer');
    const sku = typed(d.unit_type, `${path}.unit_type`, (v): v is string => typeof v === 'string', 'a sku id');
    if (!units || !sku) throw notSupported(`${path}.unit_off`, 'a UNIT discount needs unit_off and unit_type (the sku)');
    return { type: 'unit', quantity: units, match: { sku } };
  }
  if (d.effect !== undefined && d.effect !== 'APPLY_TO_ORDER') throw notSupported(`${path}.effect`, 'only APPLY_TO_ORDER is supported');
  if (d.type === 'PERCENT') {
    const percent = typed(d.percent_off, `${path}.percent_off`, isNumber, 'a number');
    if (percent === undefined) throw notSupported(`${path}.percent_off`, 'required for a PERCENT discount');
    const limit = typed(d.amount_limit, `${path}.amount_limit`, isInteger, 'an integer (minor units)');
    return { type: 'percent', value: percent, ...(limit !== undefined ? { max_amount: limit, currency } : {}) };
  }
  if (d.type === 'AMOUNT') {
    const amount = typed(d.amount_off, `${path}.amount_off`, isInteger, 'an integer (minor units)');
    if (amount === undefined) throw notSupported(`${path}.amount_off`, 'required for an AMOUNT discount');
    return { type: 'amount', value: amount, currency };
  }
  if (d.type === 'FIXED') {
    const amount = typed(d.fixed_amount, `${path}.fixed_amount`, isInteger, 'an integer (minor units)');
    if (amount === undefined) throw notSupported(`${path}.fixed_amount`, 'required for a FIXED discount');
    return { type: 'fixed_price', value: amount, currency };
  }
  throw notSupported(`${path}.type`, 'PERCENT, AMOUNT, FIXED or UNIT');
}

export function discountView(d: Discount | null | undefined): Record<string, unknown> | null {
  if (!d) return null;
  if (d.type === 'unit') {
    const sku = d.match.sku;
    return { type: 'UNIT', unit_off: d.quantity, unit_type: Array.isArray(sku) ? sku[0] : (sku ?? null), effect: 'ADD_MISSING_ITEMS' };
  }
  const effect = d.apply_to === undefined || d.apply_to === 'order' ? 'APPLY_TO_ORDER' : 'APPLY_TO_ITEMS';
  if (d.type === 'percent') {
    return { type: 'PERCENT', percent_off: d.value, ...(d.max_amount !== undefined ? { amount_limit: d.max_amount } : {}), effect };
  }
  if (d.type === 'fixed_price') return { type: 'FIXED', fixed_amount: d.value, effect };
  return { type: 'AMOUNT', amount_off: d.value, effect };
}

/** Voucherify weekdays are 0 (Sunday) … 6; the platform's ISO weekdays 1 (Monday) … 7 (Sunday). */
export function weekdaysToPlatform(value: unknown, field: string): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((d) => !Number.isInteger(d) || d < 0 || d > 6)) {
    throw notSupported(field, 'must be a list of weekdays 0 (Sunday) to 6');
  }
  return [...new Set(value.map((d: number) => (d === 0 ? 7 : d)))].sort();
}

export function weekdaysView(rules: Rules | null | undefined): number[] | null {
  const windows = rules?.validity_windows;
  const only = windows?.length === 1 ? windows[0] : undefined;
  if (!only?.days_of_week || only.start_time || only.end_time) return null;
  return only.days_of_week.map((d) => (d === 7 ? 0 : d)).sort();
}

const REDEMPTION_QUANTITY_FIELDS = fieldTable('quantity redeemed_quantity object url redemption_entries');

/** `redemption: {quantity}` → the per-code limit (Voucherify: null or absent = unlimited). */
export function quantityToPlatform(value: unknown, path: string): number | null | undefined {
  if (value === undefined) return undefined;
  const r = checkFields(value, path, REDEMPTION_QUANTITY_FIELDS);
  if (r.quantity === null || r.quantity === undefined) return null;
  const quantity = typed(r.quantity, `${path}.quantity`, isInteger, 'an integer');
  if (quantity !== undefined && quantity < 1) throw notSupported(`${path}.quantity`, 'must be at least 1, or null for unlimited');
  return quantity ?? null;
}

export interface VoucherWithCampaign extends VoucherRow {
  campaign_name: string;
  campaign_rules: Rules | null;
  campaign_start_date: Date | string | null;
  campaign_expiration_date: Date | string | null;
  standalone: boolean;
  publish_count: number;
}

/** The columns `VoucherWithCampaign` is read with (vouchers `v` joined to campaigns `c`). */
export const VOUCHER_COLUMNS = `v.*, c.name as campaign_name, c.rules as campaign_rules, c.start_date as campaign_start_date,
  c.expiration_date as campaign_expiration_date, coalesce((c.metadata->>'voucherify_standalone')::boolean, false) as standalone,
  (select count(*)::int from publications p where p.voucher_id = v.id) as publish_count`;

export function voucherView(v: VoucherWithCampaign) {
  const rules = effectiveRules({
    rules: v.rules as Rules | null,
    campaign_rules: v.campaign_rules,
    start_date: v.start_date,
    expiration_date: v.expiration_date,
    campaign_start_date: v.campaign_start_date,
    campaign_expiration_date: v.campaign_expiration_date,
  });
  const code = encodeURIComponent(v.code);
  return {
    id: voucherId.encode(v.id),
    code: v.code,
    campaign: v.standalone ? null : v.campaign_name,
    campaign_id: v.standalone ? null : campaignId.encode(v.campaign_id),
    category: null,
    type: 'DISCOUNT_VOUCHER' as const,
    discount: discountView(rules.discount),
    gift: null,
    loyalty_card: null,
    start_date: isoTime(rules.startDate),
    expiration_date: isoTime(rules.expirationDate),
    validity_timeframe: null,
    validity_day_of_week: weekdaysView({ validity_windows: rules.validityWindows }),
    active: v.active,
    additional_info: null,
    metadata: v.metadata ?? {},
    assets: null,
    is_referral_code: false,
    holder_id: v.holder_customer_id ? customerId.encode(v.holder_customer_id) : null,
    created_at: isoTime(v.created_at),
    updated_at: isoTime(v.updated_at),
    redemption: {
      quantity: rules.perCodeLimit,
      redeemed_quantity: v.redemption_count,
      object: 'list' as const,
      url: `/v1/vouchers/${code}/redemptions?page=1&limit=10`,
    },
    publish: { object: 'list' as const, count: v.publish_count, url: `/v1/vouchers/${code}/publications?page=1&limit=10` },
    object: 'voucher' as const,
  };
}

export type VoucherifyVoucher = ReturnType<typeof voucherView>;

export interface GenerationState {
  status: string | null;
}

/** `vouchers_generation_status` from the campaign's latest generation or import. */
export function generationStatus(status: string | null): 'IN_PROGRESS' | 'DONE' | 'FAILED' {
  if (status === 'queued' || status === 'running') return 'IN_PROGRESS';
  if (status === 'failed') return 'FAILED';
  return 'DONE';
}

export interface CampaignWithState extends CampaignRow {
  join_once: boolean;
  latest_work_status: string | null;
}

export function campaignView(c: CampaignWithState) {
  const rules = (c.rules ?? {}) as Rules;
  const config = c.code_config as Record<string, unknown>;
  return {
    id: campaignId.encode(c.id),
    name: c.name,
    description: null,
    campaign_type: 'DISCOUNT_COUPONS' as const,
    type: (c.metadata as Record<string, unknown>)?.voucherify_type === 'STATIC' ? ('STATIC' as const) : ('AUTO_UPDATE' as const),
    voucher: {
      type: 'DISCOUNT_VOUCHER' as const,
      discount: discountView(rules.discount),
      redemption: { quantity: rules.redemption?.per_code_limit === undefined ? 1 : rules.redemption.per_code_limit },
      code_config: {
        length: config.length ?? null,
        charset: config.charset ?? null,
        prefix: config.prefix ?? null,
        postfix: config.postfix ?? null,
        pattern: config.pattern ?? null,
      },
      is_referral_code: false,
    },
    auto_join: false,
    join_once: c.join_once,
    use_voucher_metadata_schema: false,
    validity_timeframe: null,
    validity_day_of_week: weekdaysView(rules),
    activity_duration_after_publishing: null,
    vouchers_count: Number(c.issued_count),
    start_date: isoTime(c.start_date),
    expiration_date: isoTime(c.expiration_date),
    active: c.active,
    metadata: userMetadata(c.metadata),
    created_at: isoTime(c.created_at),
    updated_at: isoTime(c.updated_at),
    category: null,
    creation_status: 'DONE' as const,
    vouchers_generation_status: generationStatus(c.latest_work_status),
    protected: false,
    category_id: null,
    categories: [],
    object: 'campaign' as const,
  };
}

/** Campaign metadata without the keys the compatible API keeps there for itself (`voucherify_*`). */
export function userMetadata(metadata: Record<string, unknown> | null): Record<string, unknown> {
  return Object.fromEntries(Object.entries(metadata ?? {}).filter(([k]) => !k.startsWith('voucherify_')));
}

export function customerRef(id: string | null | undefined) {
  return id ? { id: customerId.encode(id), source_id: id, object: 'customer' as const } : null;
}

/** The fields Voucherify's redemptions and rollbacks begin with (the customer's platform id is its tracking id). */
export function redemptionHead<O extends string>(
  id: string,
  object: O,
  date: string | null,
  customer: string | null | undefined,
  metadata: Record<string, unknown>,
  amount: number,
) {
  return { id, object, date, customer_id: customer ? customerId.encode(customer) : null, tracking_id: customer ?? null, metadata, amount };
}

/** A platform redemption as Voucherify's redemption object (or, rolled back, with its rollback named). */
export function redemptionObject(r: RedemptionView, voucher: VoucherifyVoucher | null) {
  const amount = r.order?.amount ?? null;
  const discount = r.discount_amount ?? 0;
  return {
    ...redemptionHead(redemptionId.encode(r.id), 'redemption', r.created_at, r.customer?.id, r.metadata, discount),
    redemption: null,
    result: 'SUCCESS' as const,
    status: r.status === 'rolled_back' ? ('ROLLED_BACK' as const) : ('SUCCEEDED' as const),
    order:
      amount === null
        ? null
        : {
            amount,
            discount_amount: discount,
            total_discount_amount: discount,
            total_amount: amount - discount,
            total_applied_discount_amount: discount,
            object: 'order' as const,
          },
    customer: r.customer ? { ...customerRef(r.customer.id), ...(r.customer.email ? { email: r.customer.email } : {}) } : null,
    related_object_type: 'voucher' as const,
    related_object_id: voucher?.id ?? null,
    voucher,
    ...(r.status === 'rolled_back' ? { rollback: { id: rollbackId.encode(r.id), reason: r.rollback_reason, date: r.rolled_back_at } } : {}),
  };
}

/** A refused redemption (the platform's failed-redemptions list) as Voucherify's `result: FAILURE` redemption. */
export function failedRedemptionObject(f: FailedRedemptionView, voucher: VoucherifyVoucher | null) {
  return {
    ...redemptionHead(failedRedemptionId.encode(f.id), 'redemption', f.created_at, f.customer_id, {}, 0),
    redemption: null,
    result: 'FAILURE' as const,
    status: 'FAILED' as const,
    failure_code: REFUSALS[f.reason].key,
    failure_message: refusalDetails(f.reason, f.rule ?? undefined),
    order: f.order_id ? { source_id: f.order_id, object: 'order' as const } : null,
    customer: customerRef(f.customer_id),
    related_object_type: 'voucher' as const,
    related_object_id: voucher?.id ?? null,
    voucher,
  };
}

export function rollbackObject(r: RedemptionView, voucher: VoucherifyVoucher | null) {
  const amount = -(r.discount_amount ?? 0);
  return {
    ...redemptionHead(rollbackId.encode(r.id), 'redemption_rollback', r.rolled_back_at, r.customer?.id, r.metadata, amount),
    redemption: redemptionId.encode(r.id),
    reason: r.rollback_reason,
    result: 'SUCCESS' as const,
    status: 'SUCCEEDED' as const,
    customer: customerRef(r.customer?.id),
    related_object_type: 'voucher' as const,
    related_object_id: voucher?.id ?? null,
    voucher,
  };
}
