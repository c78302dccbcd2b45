import type { Check } from './conditions.ts';
import type { Discount, Rules, ValidityWindow } from './schema.ts';
import type { StackingInput } from './stacking.ts';

/** Where a voucher's rules come from: its own overrides and dates, then its campaign's. */
export interface RuleSources {
  rules: Rules | null;
  campaign_rules: Rules | null;
  start_date: Date | string | null;
  expiration_date: Date | string | null;
  campaign_start_date: Date | string | null;
  campaign_expiration_date: Date | string | null;
}

export interface EffectiveRules {
  perCodeLimit: number | null;
  perCustomerLimit: number | null;
  perCustomerCampaignLimit: number | null;
  validityWindows: ValidityWindow[] | null;
  order: { min_amount: number; currency: string } | null;
  /** The voucher's list when it sets one (replacing the campaign's), else the campaign's. */
  conditions: Check[] | null;
  discount: Discount | null;
  /** The campaign's: stacking belongs to a campaign, a voucher does not override it. */
  stacking: StackingInput | null;
  holderOnly: boolean;
  startDate: Date | null;
  expirationDate: Date | null;
}

/** Campaign rules with the voucher's overrides on top: a key the voucher sets wins, `redemption` limit by limit. */
export function effectiveRules(c: RuleSources): EffectiveRules {
  const campaign = c.campaign_rules ?? {};
  const voucher = c.rules ?? {};
  const redemption = { ...campaign.redemption, ...voucher.redemption };
  const pick = <K extends keyof Rules>(key: K): Rules[K] => (key in voucher ? voucher[key] : campaign[key]);
  return {
    perCodeLimit: redemption.per_code_limit === undefined ? 1 : redemption.per_code_limit,
    perCustomerLimit: redemption.per_customer_limit ?? null,
    perCustomerCampaignLimit: redemption.per_customer_campaign_limit ?? null,
    validityWindows: pick('validity_windows') ?? null,
    order: pick('order') ?? null,
    conditions: pick('conditions') ?? null,
    discount: pick('discount') ?? null,
    stacking: campaign.stacking ?? null,
    holderOnly: pick('holder_only') ?? false,
    startDate: toDate(c.start_date ?? c.campaign_start_date),
    expirationDate: toDate(c.expiration_date ?? c.campaign_expiration_date),
  };
}

/** A timestamp may arrive as ISO text (from JSON) as well as a Date; decisions compare Dates. */
function toDate(value: Date | string | null): Date | null {
  return value === null ? null : new Date(value);
}
