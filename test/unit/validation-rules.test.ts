import { describe, expect, it } from 'vitest';
import type { Candidate } from '../../src/redemptions/lookup.ts';
import { applyDiscount, effectiveRules, heldByAnother, localTime, refusalReason, withinWindows } from '../../src/rules/index.ts';
import { activeCandidate } from '../support/candidates.ts';

const base = activeCandidate();
const now = new Date('2026-03-02T12:00:00Z');
const decide = (c: Partial<Candidate>, input: Partial<Parameters<typeof refusalReason>[2]> = {}) => {
  const candidate = { ...base, ...c };
  return refusalReason(candidate, effectiveRules(candidate), { now, customerCodeCount: 0, customerCampaignCount: 0, ...input });
};

describe('validation rules', () => {
  it('merges voucher overrides over campaign rules, redemption limits one by one', () => {
    const rules = effectiveRules({
      ...base,
      campaign_rules: {
        redemption: { per_code_limit: 5, per_customer_limit: 2 },
        holder_only: true,
        order: { min_amount: 100, currency: 'EUR' },
      },
      rules: { redemption: { per_code_limit: null }, order: null },
      start_date: null,
      campaign_start_date: '2026-02-01 00:00:00+00',
      expiration_date: '2026-04-01T00:00:00Z',
      campaign_expiration_date: '2026-05-01 00:00:00+00',
    });
    expect(rules).toMatchObject({ perCodeLimit: null, perCustomerLimit: 2, holderOnly: true, order: null });
    expect(rules.startDate?.toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(rules.expirationDate?.toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(effectiveRules(base).perCodeLimit).toBe(1);
  });

  it('checks reasons in the documented order', () => {
    expect(decide({ status: 'expired', active: false })).toBe('expired');
    expect(decide({ active: false, campaign_active: false })).toBe('disabled');
    expect(decide({ campaign_active: false, start_date: '2030-01-01T00:00:00Z' })).toBe('campaign_inactive');
    expect(decide({ start_date: '2030-01-01T00:00:00Z', redemption_count: 1 })).toBe('not_active_yet');
    expect(decide({ redemption_count: 1, campaign_rules: { redemption: { per_customer_limit: 1 } } })).toBe('quantity_exceeded');
    expect(decide({ campaign_rules: { redemption: { per_customer_limit: 1 } } })).toBe('customer_required');
    expect(decide({ campaign_rules: { redemption: { per_customer_limit: 1 } } }, { customerId: 'a', customerCodeCount: 1 })).toBe(
      'customer_limit_exceeded',
    );
    expect(
      decide({ campaign_rules: { redemption: { per_customer_campaign_limit: 3 } } }, { customerId: 'a', customerCampaignCount: 3 }),
    ).toBe('customer_limit_exceeded');
    expect(decide({ campaign_rules: { order: { min_amount: 100, currency: 'EUR' } } }, { order: { amount: 99, currency: 'EUR' } })).toBe(
      'order_amount_too_low',
    );
    expect(() =>
      decide({ campaign_rules: { order: { min_amount: 100, currency: 'EUR' } } }, { order: { amount: 500, currency: 'USD' } }),
    ).toThrow(/USD/);
    expect(decide({ expiration_date: now.toISOString() })).toBe('expired');
    expect(decide({ start_date: now.toISOString() })).toBeNull();
  });

  it('holder_only hides codes from everyone but their holder', () => {
    const held = { ...base, campaign_rules: { holder_only: true }, holder_customer_id: 'alice' };
    expect(heldByAnother(held, effectiveRules(held), 'alice')).toBe(false);
    expect(heldByAnother(held, effectiveRules(held), 'bob')).toBe(true);
    expect(heldByAnother(held, effectiveRules(held), undefined)).toBe(true);
    const unpublished = { ...held, holder_customer_id: null };
    expect(heldByAnother(unpublished, effectiveRules(unpublished), 'alice')).toBe(true);
    const open = { ...held, rules: { holder_only: false } };
    expect(heldByAnother(open, effectiveRules(open), 'bob')).toBe(false);
  });

  it('computes discounts in minor units: percent rounds down, caps, never exceeds the order', () => {
    expect(applyDiscount({ type: 'percent', value: 15 }, { amount: 999, currency: 'EUR' })).toMatchObject({ amount: 149, currency: 'EUR' });
    expect(applyDiscount({ type: 'percent', value: 50, max_amount: 300 }, { amount: 1000, currency: 'EUR' })?.amount).toBe(300);
    expect(applyDiscount({ type: 'percent', value: 100 }, { amount: 1234, currency: 'EUR' })?.amount).toBe(1234);
    expect(applyDiscount({ type: 'percent', value: 10 }, undefined)?.amount).toBeNull();
    expect(applyDiscount({ type: 'amount', value: 500, currency: 'EUR' }, { amount: 200, currency: 'EUR' })?.amount).toBe(200);
    expect(applyDiscount({ type: 'amount', value: 500, currency: 'EUR' }, undefined)).toMatchObject({ amount: 500, currency: 'EUR' });
    expect(() => applyDiscount({ type: 'amount', value: 500, currency: 'EUR' }, { amount: 2000, currency: 'GBP' })).toThrow(/GBP/);
    expect(applyDiscount(null, { amount: 1, currency: 'EUR' })).toBeNull();
  });

  it('reads weekday and time in the campaign time zone, across DST', () => {
    expect(localTime(new Date('2026-03-08T06:59:00Z'), 'America/New_York')).toEqual({ weekday: 7, minutes: 1 * 60 + 59 });
    expect(localTime(new Date('2026-03-08T07:00:00Z'), 'America/New_York')).toEqual({ weekday: 7, minutes: 3 * 60 });
    expect(localTime(new Date('2026-03-01T23:30:00Z'), 'Asia/Tokyo')).toEqual({ weekday: 1, minutes: 8 * 60 + 30 });
    const lunch = [{ start_time: '12:00', end_time: '14:00' }];
    expect(withinWindows(lunch, 'Europe/Berlin', new Date('2026-07-01T10:30:00Z'))).toBe(true); // 12:30 CEST
    expect(withinWindows(lunch, 'Europe/Berlin', new Date('2026-01-01T11:30:00Z'))).toBe(true); // 12:30 CET
    expect(withinWindows(lunch, 'Europe/Berlin', new Date('2026-07-01T12:30:00Z'))).toBe(false); // 14:30 CEST
  });
});
