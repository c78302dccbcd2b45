import { type AppliedDiscount, applyDiscount } from './discount.ts';
import { type EffectiveRules, effectiveRules, type RuleSources } from './effective.ts';
import { currencyMismatch } from './minor-units.ts';
import type { Order } from './schema.ts';
import { withinWindows } from './windows.ts';

export const REFUSAL_REASONS = [
  'not_found',
  'not_active_yet',
  'expired',
  'disabled',
  'campaign_inactive',
  'outside_validity_window',
  'quantity_exceeded',
  'customer_limit_exceeded',
  'order_amount_too_low',
  'customer_required',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** What a decision reads of a voucher and its campaign (one indexed lookup gives all of it). */
export interface DecisionSubject extends RuleSources {
  status: string;
  active: boolean;
  redemption_count: number;
  holder_customer_id: string | null;
  campaign_active: boolean;
  campaign_status: string;
  /** The campaign's time zone, in which validity windows are read. */
  timezone: string;
}

export interface DecisionInput {
  customerId?: string;
  order?: Order;
  now: Date;
  /** Succeeded redemptions of this code by this customer, and across the campaign (0 without a customer). */
  customerCodeCount: number;
  customerCampaignCount: number;
}

/**
 * Whether the code is held by someone else: a holder_only code may be used by its holder alone, and a caller
 * who is not the holder must not learn the code exists (answered exactly like not_found).
 */
export function heldByAnother(c: DecisionSubject, rules: EffectiveRules, customerId: string | undefined): boolean {
  return rules.holderOnly && (c.holder_customer_id === null || c.holder_customer_id !== customerId);
}

/** The first reason the voucher cannot be used now, or null. Checks run in the documented order. */
export function refusalReason(c: DecisionSubject, rules: EffectiveRules, input: DecisionInput): RefusalReason | null {
  const now = input.now.getTime();
  if (c.status === 'expired' || c.campaign_status === 'expired') return 'expired';
  if (rules.expirationDate && rules.expirationDate.getTime() <= now) return 'expired';
  if (!c.active) return 'disabled';
  if (!c.campaign_active) return 'campaign_inactive';
  if (rules.startDate && rules.startDate.getTime() > now) return 'not_active_yet';
  if (rules.validityWindows && rules.validityWindows.length > 0 && !withinWindows(rules.validityWindows, c.timezone, input.now)) {
    return 'outside_validity_window';
  }
  if (rules.perCodeLimit !== null && c.redemption_count >= rules.perCodeLimit) return 'quantity_exceeded';
  if ((rules.perCustomerLimit !== null || rules.perCustomerCampaignLimit !== null) && !input.customerId) return 'customer_required';
  if (rules.perCustomerLimit !== null && input.customerCodeCount >= rules.perCustomerLimit) return 'customer_limit_exceeded';
  if (rules.perCustomerCampaignLimit !== null && input.customerCampaignCount >= rules.perCustomerCampaignLimit) {
    return 'customer_limit_exceeded';
  }
  if (rules.order) {
    if (!input.order) return 'order_amount_too_low';
    if (input.order.currency !== rules.order.currency) throw currencyMismatch(rules.order.currency, input.order.currency);
    if (input.order.amount < rules.order.min_amount) return 'order_amount_too_low';
  }
  return null;
}

/** A decision about one code; `guess` marks a refusal the guessing defence counts (unknown, or someone else's). */
export type Decision<C extends DecisionSubject> =
  | { valid: true; code: string; candidate: C; discount: AppliedDiscount | null }
  | { valid: false; code: string; reason: RefusalReason; candidate: C | null; guess: boolean };

/** Whether `candidate` (the voucher found for `code`, or null) can be used now by this customer for this order. */
export function decide<C extends DecisionSubject>(
  candidate: C | null,
  code: string,
  input: { customer?: { id: string }; order?: Order },
  now: Date,
  counts: { code: number; campaign: number },
): Decision<C> {
  if (!candidate) return { valid: false, code, reason: 'not_found', candidate: null, guess: true };
  const rules = effectiveRules(candidate);
  // Held by someone else: indistinguishable from a code that does not exist, and counted as a guess.
  if (heldByAnother(candidate, rules, input.customer?.id)) return { valid: false, code, reason: 'not_found', candidate, guess: true };
  const reason = refusalReason(candidate, rules, {
    customerId: input.customer?.id,
    order: input.order,
    now,
    customerCodeCount: counts.code,
    customerCampaignCount: counts.campaign,
  });
  if (reason) return { valid: false, code, reason, candidate, guess: false };
  return { valid: true, code, candidate, discount: applyDiscount(rules.discount, input.order) };
}
