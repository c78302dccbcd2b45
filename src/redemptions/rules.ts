import { DomainError } from '../shared/errors.ts';
import type { VoucherRow } from '../vouchers/vouchers.ts';
import type { Discount, RefusalReason, Rules, ValidityWindow } from './schemas.ts';

/** A voucher joined with its campaign: everything a decision reads, from one indexed lookup. */
export interface Candidate extends Omit<VoucherRow, 'rules' | 'holder_customer_id'> {
  rules: Rules | null;
  holder_customer_id: string | null;
  campaign_active: boolean;
  campaign_status: string;
  campaign_start_date: Date | string | null;
  campaign_expiration_date: Date | string | null;
  timezone: string;
  campaign_rules: Rules | null;
}

export interface EffectiveRules {
  perCodeLimit: number | null;
  perCustomerLimit: number | null;
  perCustomerCampaignLimit: number | null;
  validityWindows: ValidityWindow[] | null;
  order: { min_amount: number; currency: string } | null;
  discount: Discount | null;
  holderOnly: boolean;
  startDate: Date | null;
  expirationDate: Date | null;
}

/** Campaign rules with the voucher's overrides on top: a key the voucher sets wins, `redemption` limit by limit. */
export function effectiveRules(c: Candidate): EffectiveRules {
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
    discount: pick('discount') ?? null,
    holderOnly: pick('holder_only') ?? false,
    startDate: toDate(c.start_date ?? c.campaign_start_date),
    expirationDate: toDate(c.expiration_date ?? c.campaign_expiration_date),
  };
}

/** Raw-SQL rows carry timestamptz as text (the ORM's pool type parsers); decisions compare Dates. */
function toDate(value: Date | string | null): Date | null {
  return value === null ? null : new Date(value);
}

export interface DecisionInput {
  customerId?: string;
  order?: { amount: number; currency: string };
  now: Date;
  /** Succeeded redemptions of this code by this customer, and across the campaign (0 without a customer). */
  customerCodeCount: number;
  customerCampaignCount: number;
}

/**
 * Whether the code is held by someone else: a holder_only code may be used by its holder alone, and a caller
 * who is not the holder must not learn the code exists (answered exactly like not_found).
 */
export function heldByAnother(c: Candidate, rules: EffectiveRules, customerId: string | undefined): boolean {
  return rules.holderOnly && (c.holder_customer_id === null || c.holder_customer_id !== customerId);
}

/** The first reason the voucher cannot be used now, or null. Checks run in the documented order. */
export function refusalReason(c: Candidate, rules: EffectiveRules, input: DecisionInput): RefusalReason | null {
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

function currencyMismatch(expected: string, given: string): DomainError {
  return new DomainError('unprocessable', 'currency_mismatch', `The order is in ${given}; this voucher works with ${expected} orders.`, {
    expected_currency: expected,
  });
}

export interface AppliedDiscount {
  type: 'percent' | 'amount';
  value: number;
  max_amount?: number;
  /** The discount on this order in minor units; null when no order was given for a percent discount. */
  amount: number | null;
  currency: string | null;
}

/** The discount an order would get: percent rounds down, is capped by max_amount, and never exceeds the order. */
export function applyDiscount(discount: Discount | null, order: { amount: number; currency: string } | undefined): AppliedDiscount | null {
  if (!discount) return null;
  if (discount.currency && order && order.currency !== discount.currency) throw currencyMismatch(discount.currency, order.currency);
  const currency = order?.currency ?? discount.currency ?? null;
  if (discount.type === 'amount') {
    return { type: 'amount', value: discount.value, amount: order ? Math.min(discount.value, order.amount) : discount.value, currency };
  }
  let amount: number | null = null;
  if (order) {
    amount = Math.floor((order.amount * discount.value) / 100);
    if (discount.max_amount !== undefined) amount = Math.min(amount, discount.max_amount);
    amount = Math.min(amount, order.amount);
  }
  return {
    type: 'percent',
    value: discount.value,
    ...(discount.max_amount !== undefined ? { max_amount: discount.max_amount } : {}),
    amount,
    currency,
  };
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The ISO weekday and minute of the day at `at` in `timeZone` (IANA name), via Intl's tz database. */
export function localTime(at: Date, timeZone: string): { weekday: number; minutes: number } {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, fmt);
  }
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  for (const part of fmt.formatToParts(at)) {
    if (part.type === 'weekday') weekday = WEEKDAYS[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { weekday, minutes: hour * 60 + minute };
}

function minutesOf(time: string): number {
  const [h, m] = time.split(':');
  return Number(h) * 60 + Number(m);
}

/**
 * Whether `at` falls in any window. A window whose end is before its start runs past midnight: its late part
 * belongs to the day it started on (Friday 22:00–02:00 includes Saturday 01:00).
 */
export function withinWindows(windows: ValidityWindow[], timeZone: string, at: Date): boolean {
  const { weekday, minutes } = localTime(at, timeZone);
  const previousDay = weekday === 1 ? 7 : weekday - 1;
  return windows.some((w) => {
    const start = w.start_time ? minutesOf(w.start_time) : 0;
    const end = w.end_time ? minutesOf(w.end_time) : 24 * 60;
    const onDay = (day: number) => !w.days_of_week || w.days_of_week.includes(day);
    if (start < end) return onDay(weekday) && minutes >= start && minutes < end;
    return (onDay(weekday) && minutes >= start) || (onDay(previousDay) && minutes < end);
  });
}

/** Whether a time zone name is one Intl knows. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
