import { describe, expect, it } from 'vitest';
import { type CheckoutAnswer, type CodeDecision, combineCodes, compileCheckoutRules, decideCode } from '../../src/rules/checkout.ts';
import { checksSchema } from '../../src/rules/conditions.ts';
import { evaluationContext, overlayCustomer } from '../../src/rules/context.ts';
import { normalizeOrder, orderInputSchema } from '../../src/rules/order.ts';
import { discountSchema } from '../../src/rules/order-discount.ts';
import { SegmentCatalogue, segmentDefinitionSchema } from '../../src/rules/segments.ts';
import { stackingSchema } from '../../src/rules/stacking.ts';
import * as examples from '../support/rules-examples.ts';

/** The worked examples of docs/rules.md, end to end through the core, as the integration will call it. */

const segments = new SegmentCatalogue([segmentDefinitionSchema.parse(examples.membersSegment)]);

interface CampaignRules {
  conditions?: unknown;
  discount: unknown;
  stacking?: unknown;
}

function checkout(codes: [string, CampaignRules][], order: unknown, customer: { id: string; metadata?: Record<string, unknown> } | null) {
  const normalized = normalizeOrder(orderInputSchema.parse(order));
  const facts = overlayCustomer(customer, null);
  const membership = segments.membership(facts);
  const decisions = codes.map(([code, raw]): CodeDecision => {
    const rules = compileCheckoutRules({
      conditions: raw.conditions === undefined ? null : checksSchema.parse(raw.conditions),
      discount: discountSchema.parse(raw.discount),
      stacking: raw.stacking === undefined ? null : stackingSchema.parse(raw.stacking),
    });
    const ctx = evaluationContext({
      order: normalized,
      customer: facts,
      redemptionMetadata: null,
      customerRedemptionsInCampaign: 0,
      now: new Date('2026-03-04T10:00:00Z'),
      timeZone: 'Europe/Paris',
      segments: membership,
    });
    return decideCode(code, rules, ctx);
  });
  return combineCodes(decisions, normalized);
}

const totals = (answer: CheckoutAnswer) => answer.order?.items?.map((i) => [i.sku, i.discount_amount, i.total_amount]);

describe('docs/rules.md worked examples', () => {
  it('20 % off shoes for members, at most 30 €', () => {
    const gold = checkout([['SHOES20', examples.shoes20Rules]], examples.shoeOrder, { id: 'cust-42', metadata: { tier: 'gold' } });
    expect(gold.codes).toEqual([{ code: 'SHOES20', valid: true, discount_amount: 3000 }]);
    expect(totals(gold)).toEqual([
      ['RUN-42', 1714, 10286],
      ['TRAIL-42', 1286, 7714],
      ['SOCKS', 0, 3000],
    ]);
    const silver = checkout([['SHOES20', examples.shoes20Rules]], examples.shoeOrder, { id: 'cust-43', metadata: { tier: 'silver' } });
    expect(silver.codes).toEqual([
      {
        code: 'SHOES20',
        valid: false,
        reason: 'rule_not_met',
        rule: { name: 'members-only', message: 'This code is for members.' },
        discount_amount: 0,
      },
    ]);
  });

  it('buy two T-shirts, get the cheaper one free', () => {
    const answer = checkout([['TEE2FOR1', examples.tee2for1Rules]], examples.teeOrder, null);
    expect(answer.codes).toEqual([{ code: 'TEE2FOR1', valid: true, discount_amount: 1500 }]);
    expect(totals(answer)).toEqual([
      ['TEE-LOGO', 0, 2500],
      ['TEE-PLAIN', 1500, 0],
    ]);
  });

  it("10 € off orders over 50 € that don't contain gift cards", () => {
    const tenOff: CampaignRules = {
      conditions: [
        {
          name: 'over-50-eur',
          when: {
            all: [
              { field: 'order.currency', op: 'eq', value: 'EUR' },
              { field: 'order.amount', op: 'gt', value: 5000 },
            ],
          },
          message: 'For orders over 50 €.',
        },
        {
          name: 'no-gift-cards',
          when: { not: { items: { match: { categories: ['gift-cards'] } } } },
          message: 'Gift cards cannot be discounted.',
        },
      ],
      discount: { type: 'amount', value: 1000, currency: 'EUR' },
    };
    const jacket = { sku: 'JACKET', categories: ['coats'], quantity: 1, price: 5990 };
    const ok = checkout(
      [['TENOFF', tenOff]],
      { currency: 'EUR', items: [jacket, { sku: 'SCARF', categories: ['accessories'], quantity: 1, price: 1990 }] },
      null,
    );
    expect(ok.codes).toEqual([{ code: 'TENOFF', valid: true, discount_amount: 1000 }]);
    expect(totals(ok)).toEqual([
      ['JACKET', 751, 5239],
      ['SCARF', 249, 1741],
    ]);
    const gift = checkout(
      [['TENOFF', tenOff]],
      { currency: 'EUR', items: [jacket, { sku: 'GIFT-25', categories: ['gift-cards'], quantity: 1, price: 2500 }] },
      null,
    );
    expect(gift.codes[0]).toMatchObject({ valid: false, reason: 'rule_not_met', rule: { name: 'no-gift-cards' } });
    const small = checkout([['TENOFF', tenOff]], { currency: 'EUR', amount: 5000 }, null);
    expect(small.codes[0]).toMatchObject({ valid: false, rule: { name: 'over-50-eur' } });
  });

  it('a welcome code plus a free-shipping code, but never two percentage codes', () => {
    const answer = checkout(
      [
        ['WELCOME10', examples.welcome10Rules],
        ['SHIPFREE', examples.shipFreeRules],
        ['SPRING15', examples.spring15Rules],
      ],
      examples.dressOrder,
      { id: 'cust-77' },
    );
    expect(answer.codes).toEqual([
      { code: 'WELCOME10', valid: true, discount_amount: 790 },
      { code: 'SHIPFREE', valid: true, discount_amount: 490 },
      { code: 'SPRING15', valid: false, reason: 'not_combinable', discount_amount: 0 },
    ]);
    expect(answer.order).toMatchObject({ amount: 8390, discount_amount: 1280, total_amount: 7110 });
    expect(totals(answer)).toEqual([
      ['DRESS', 790, 7110],
      ['shipping', 490, 0],
    ]);
  });
});
