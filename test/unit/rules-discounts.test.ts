import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type CheckoutRules,
  type CodeDecision,
  checkoutAnswerSchema,
  codeListSchema,
  combineCodes,
  compileCheckoutRules,
} from '../../src/rules/checkout.ts';
import { applyDiscount } from '../../src/rules/index.ts';
import { normalizeOrder, orderInputSchema } from '../../src/rules/order.ts';
import { compileDiscount, type Discount, discountSchema, OrderPricing } from '../../src/rules/order-discount.ts';
import { resolveStacking, stackingOf } from '../../src/rules/stacking.ts';
import { orderLine, pricedLine } from '../support/rules-examples.ts';

const order = (input: unknown) => normalizeOrder(orderInputSchema.parse(input));
const amountOnly = (amount: number) => order({ currency: 'EUR', amount });
const price = (o: ReturnType<typeof order>, ...discounts: unknown[]) => {
  const pricing = new OrderPricing(o);
  const taken = discounts.map((d) => pricing.apply(compileDiscount(discountSchema.parse(d))));
  return { taken, order: pricing.result() };
};
/** An `apply_to` that targets the lines of one category. */
const inCategory = (category: string) => ({ items: { match: { categories: [category] } } });
const lineDiscounts = (result: ReturnType<typeof price>) => result.order.items?.map((i) => i.discount_amount);

const shop = order({
  id: 'o-7',
  currency: 'EUR',
  items: [
    orderLine('SHOE', 'shoes', 1, 12000),
    orderLine('TEE-A', 't-shirts', 1, 2500),
    orderLine('TEE-B', 't-shirts', 2, 1500),
    orderLine('shipping', 'shipping', 1, 490),
  ],
});

describe('discount schema', () => {
  it("keeps today's shapes valid", () => {
    expect(discountSchema.parse({ type: 'percent', value: 15, max_amount: 1000 })).toEqual({
      type: 'percent',
      value: 15,
      max_amount: 1000,
    });
    expect(discountSchema.parse({ type: 'percent', value: 12.5, currency: 'eur' })).toEqual({
      type: 'percent',
      value: 12.5,
      currency: 'EUR',
    });
    expect(discountSchema.parse({ type: 'amount', value: 500, currency: 'EUR' })).toEqual({ type: 'amount', value: 500, currency: 'EUR' });
  });

  it('refuses malformed discounts with paths', () => {
    const paths = (d: unknown) => discountSchema.safeParse(d).error?.issues.map((i) => i.path.join('.'));
    expect(paths({ type: 'percent', value: 0 })).toEqual(['value']);
    expect(paths({ type: 'percent', value: 101 })).toEqual(['value']);
    expect(paths({ type: 'amount', value: 0, currency: 'EUR' })).toEqual(['value']);
    expect(paths({ type: 'amount', value: 10.5, currency: 'EUR' })).toEqual(['value']);
    expect(paths({ type: 'fixed_price', value: 100 })).toEqual(['currency']);
    expect(paths({ type: 'unit', quantity: 0, match: {} })).toEqual(['quantity']);
    expect(paths({ type: 'unit', quantity: 1 })).toEqual(['match']);
    expect(paths({ type: 'unit', quantity: 1, match: {}, apply_to: 'order' })).toEqual(['']);
    expect(paths({ type: 'percent', value: 10, apply_to: 'items' })).toEqual(['apply_to']);
    expect(paths({ type: 'percent', value: 10, apply_to: { items: { match: { colour: 'red' } } } })).toEqual(['apply_to.items.match']);
    expect(paths({ type: 'bogo', value: 1 })).toEqual(['type']);
  });
});

describe('discount math', () => {
  it('percent rounds down, is capped by max_amount, and is exact for decimal percentages', () => {
    expect(price(amountOnly(999), { type: 'percent', value: 10 }).taken).toEqual([99]);
    expect(price(amountOnly(100_000), { type: 'percent', value: 20, max_amount: 3000 }).taken).toEqual([3000]);
    expect(price(amountOnly(999), { type: 'percent', value: 12.5 }).taken).toEqual([124]);
    // 8.2 % of 100,000 is exactly 8,200, where 100000 * 8.2 / 100 is 8199.999… in floating point.
    expect(price(amountOnly(100_000), { type: 'percent', value: 8.2 }).taken).toEqual([8200]);
    expect(price(amountOnly(300), { type: 'percent', value: 33.33 }).taken).toEqual([99]);
    expect(price(amountOnly(Number.MAX_SAFE_INTEGER), { type: 'percent', value: 100 }).taken).toEqual([Number.MAX_SAFE_INTEGER]);
    expect(price(amountOnly(Number.MAX_SAFE_INTEGER), { type: 'percent', value: 10 }).taken).toEqual([
      Number(BigInt(Number.MAX_SAFE_INTEGER) / 10n),
    ]);
    expect(price(amountOnly(1e9), { type: 'percent', value: 1e-7 }).taken).toEqual([1]);
  });

  it("prices today's shapes as today on amount-only orders", () => {
    const discounts: Discount[] = [
      { type: 'percent', value: 15, max_amount: 1000 },
      { type: 'percent', value: 7 },
      { type: 'percent', value: 100 },
      { type: 'amount', value: 500, currency: 'EUR' },
    ];
    for (const amount of [0, 1, 99, 100, 4999, 5000, 123_456_789, 2 ** 45]) {
      for (const discount of discounts) {
        const today = applyDiscount(discount as Parameters<typeof applyDiscount>[0], { amount, currency: 'EUR' })?.amount;
        expect([amount, discount, price(amountOnly(amount), discount).taken[0]]).toEqual([amount, discount, today]);
      }
    }
  });

  it('amount takes its value, never more than the target', () => {
    expect(price(amountOnly(5000), { type: 'amount', value: 1000, currency: 'EUR' }).order).toEqual({
      currency: 'EUR',
      amount: 5000,
      discount_amount: 1000,
      total_amount: 4000,
    });
    expect(price(amountOnly(700), { type: 'amount', value: 1000, currency: 'EUR' }).order.total_amount).toBe(0);
  });

  it('fixed_price makes the target cost its value, and never raises a price', () => {
    expect(price(amountOnly(5000), { type: 'fixed_price', value: 1999, currency: 'EUR' }).taken).toEqual([3001]);
    expect(price(amountOnly(1500), { type: 'fixed_price', value: 1999, currency: 'EUR' }).taken).toEqual([0]);
    const shoes = price(shop, { type: 'fixed_price', value: 9900, currency: 'EUR', apply_to: inCategory('shoes') });
    expect(lineDiscounts(shoes)).toEqual([2100, 0, 0, 0]);
    const tees = price(shop, { type: 'fixed_price', value: 5000, currency: 'EUR', apply_to: inCategory('t-shirts') });
    expect(shoes.order.items?.[0]?.total_amount).toBe(9900);
    expect(tees.order.items?.map((i) => i.total_amount)).toEqual([12000, 2273, 2727, 490]);
  });

  it('spreads an order discount over the lines by their amounts, largest remainder first, ties to the earlier line', () => {
    const three = order({ currency: 'EUR', items: ['a', 'b', 'c'].map((sku) => ({ sku, quantity: 1, price: 100 })) });
    expect(lineDiscounts(price(three, { type: 'amount', value: 100, currency: 'EUR' }))).toEqual([34, 33, 33]);
    expect(lineDiscounts(price(three, { type: 'amount', value: 200, currency: 'EUR' }))).toEqual([67, 67, 66]);
    const uneven = order({
      currency: 'EUR',
      items: [
        { sku: 'a', quantity: 1, price: 1 },
        { sku: 'b', quantity: 1, price: 2 },
      ],
    });
    expect(lineDiscounts(price(uneven, { type: 'amount', value: 1, currency: 'EUR' }))).toEqual([0, 1]);
    const result = price(shop, { type: 'percent', value: 10 });
    expect(result.order).toEqual({
      id: 'o-7',
      currency: 'EUR',
      amount: 17990,
      discount_amount: 1799,
      total_amount: 16191,
      items: [
        pricedLine('SHOE', 1, 12000, 1200),
        pricedLine('TEE-A', 1, 2500, 250),
        pricedLine('TEE-B', 2, 1500, 300),
        pricedLine('shipping', 1, 490, 49),
      ],
    });
  });

  it('apply_to items discounts only the matching lines subtotal', () => {
    const shoes = price(shop, { type: 'percent', value: 20, max_amount: 3000, apply_to: inCategory('shoes') });
    expect(shoes.taken).toEqual([2400]);
    expect(lineDiscounts(shoes)).toEqual([2400, 0, 0, 0]);
    const tees = price(shop, { type: 'amount', value: 1100, currency: 'EUR', apply_to: inCategory('t-shirts') });
    expect(lineDiscounts(tees)).toEqual([0, 500, 600, 0]);
    const none = price(shop, { type: 'percent', value: 50, apply_to: inCategory('hats') });
    expect(none.taken).toEqual([0]);
    expect(price(amountOnly(5000), { type: 'percent', value: 50, apply_to: { items: { match: {} } } }).taken).toEqual([0]);
  });

  it('unit frees the cheapest matching units first', () => {
    const one = price(shop, { type: 'unit', quantity: 1, match: { categories: ['t-shirts'] } });
    expect(lineDiscounts(one)).toEqual([0, 0, 1500, 0]);
    const two = price(shop, { type: 'unit', quantity: 2, match: { categories: ['t-shirts'] } });
    expect(lineDiscounts(two)).toEqual([0, 0, 3000, 0]);
    const three = price(shop, { type: 'unit', quantity: 3, match: { categories: ['t-shirts'] } });
    expect(lineDiscounts(three)).toEqual([0, 2500, 3000, 0]);
    const many = price(shop, { type: 'unit', quantity: 100, match: { categories: ['t-shirts'] } });
    expect(many.taken).toEqual([5500]);
    expect(price(shop, { type: 'unit', quantity: 1, match: { sku: 'nothing' } }).taken).toEqual([0]);
    expect(price(amountOnly(5000), { type: 'unit', quantity: 1, match: {} }).taken).toEqual([0]);
  });

  it('unit frees units at what they have left, and two unit discounts free different units', () => {
    const afterPercent = price(shop, { type: 'percent', value: 10 }, { type: 'unit', quantity: 1, match: { categories: ['t-shirts'] } });
    expect(afterPercent.taken).toEqual([1799, 1350]);
    const twoCodes = price(
      shop,
      { type: 'unit', quantity: 1, match: { categories: ['t-shirts'] } },
      { type: 'unit', quantity: 1, match: { categories: ['t-shirts'] } },
    );
    expect(lineDiscounts(twoCodes)).toEqual([0, 0, 3000, 0]);
  });

  it('never goes below zero after several discounts', () => {
    const result = price(
      shop,
      { type: 'amount', value: 15000, currency: 'EUR' },
      { type: 'percent', value: 100 },
      { type: 'amount', value: 5000, currency: 'EUR' },
      { type: 'unit', quantity: 5, match: {} },
    );
    expect(result.taken).toEqual([15000, 2990, 0, 0]);
    expect(result.order.total_amount).toBe(0);
    expect(result.order.items?.every((i) => i.total_amount === 0)).toBe(true);
  });

  it('refuses a discount priced in another currency than the order (422 currency_mismatch)', () => {
    expect(() => price(shop, { type: 'amount', value: 100, currency: 'USD' })).toThrow(
      expect.objectContaining({ code: 'currency_mismatch' }),
    );
    expect(() => price(shop, { type: 'percent', value: 10, currency: 'USD' })).toThrow(
      expect.objectContaining({ code: 'currency_mismatch' }),
    );
  });
});

describe('stacking', () => {
  const s = (exclusive = false, priority = 0, exclusive_group?: string) => stackingOf({ exclusive, priority, exclusive_group });

  it('applies codes by priority, then request order', () => {
    expect(resolveStacking([s(), s(false, 5), s(false, -1), s()])).toEqual({ applied: [1, 0, 3, 2], notCombinable: [] });
  });

  it('lets an exclusive code that ranks first stand alone', () => {
    expect(resolveStacking([s(), s(true, 10), s()])).toEqual({ applied: [1], notCombinable: [0, 2] });
    expect(resolveStacking([s(true), s(true)])).toEqual({ applied: [0], notCombinable: [1] });
  });

  it('refuses the exclusive code when a code outranks it', () => {
    expect(resolveStacking([s(true), s(false, 1), s()])).toEqual({ applied: [1, 2], notCombinable: [0] });
    expect(resolveStacking([s(), s(true)])).toEqual({ applied: [0], notCombinable: [1] });
  });

  it('never combines two codes of one exclusive group', () => {
    expect(resolveStacking([s(false, 0, 'percent'), s(false, 0, 'shipping'), s(false, 3, 'percent'), s()])).toEqual({
      applied: [2, 1, 3],
      notCombinable: [0],
    });
  });
});

describe('several codes in one order', () => {
  const usable = (code: string, rules: CheckoutRules): CodeDecision => ({ code, refusal: null, rules: compileCheckoutRules(rules) });

  it('applies discounts in priority order, each on what the previous left', () => {
    const tenPercent = { discount: { type: 'percent' as const, value: 10 } };
    const fiveEuros = { discount: { type: 'amount' as const, value: 500, currency: 'EUR' }, stacking: { priority: 1 } };
    const answer = combineCodes([usable('TEN', tenPercent), usable('FIVE', fiveEuros)], amountOnly(10000));
    expect(answer).toEqual({
      valid: true,
      codes: [
        { code: 'TEN', valid: true, discount_amount: 950 },
        { code: 'FIVE', valid: true, discount_amount: 500 },
      ],
      order: { currency: 'EUR', amount: 10000, discount_amount: 1450, total_amount: 8550 },
    });
    expect(checkoutAnswerSchema.parse(answer)).toEqual(answer);
  });

  it('keeps each refused code with its reason and rule, and applies the rest', () => {
    const answer = combineCodes(
      [
        { code: 'GONE', refusal: { reason: 'not_found' } },
        usable('WELCOME', { discount: { type: 'amount', value: 1000, currency: 'EUR' } }),
        { code: 'VIP', refusal: { reason: 'rule_not_met', rule: { name: 'members', message: 'Members only' } } },
      ],
      shop,
    );
    expect(answer.valid).toBe(false);
    expect(answer.codes).toEqual([
      { code: 'GONE', valid: false, reason: 'not_found', discount_amount: 0 },
      { code: 'WELCOME', valid: true, discount_amount: 1000 },
      { code: 'VIP', valid: false, reason: 'rule_not_met', rule: { name: 'members', message: 'Members only' }, discount_amount: 0 },
    ]);
    expect(answer.order?.discount_amount).toBe(1000);
    expect(answer.order?.items?.reduce((sum, i) => sum + i.discount_amount, 0)).toBe(1000);
    expect(checkoutAnswerSchema.parse(answer)).toEqual(answer);
  });

  it('answers not_combinable for the codes an exclusive one excludes', () => {
    const exclusive = usable('BIG', { discount: { type: 'percent', value: 30 }, stacking: { exclusive: true, priority: 10 } });
    const answer = combineCodes([usable('SMALL', { discount: { type: 'percent', value: 5 } }), exclusive], amountOnly(1000));
    expect(answer.codes).toEqual([
      { code: 'SMALL', valid: false, reason: 'not_combinable', discount_amount: 0 },
      { code: 'BIG', valid: true, discount_amount: 300 },
    ]);
    expect(answer.valid).toBe(false);
  });

  it('prices nothing without an order', () => {
    const answer = combineCodes(
      [usable('A', { discount: { type: 'amount', value: 100, currency: 'EUR' } }), { code: 'B', refusal: { reason: 'expired' } }],
      null,
    );
    expect(answer).toEqual({
      valid: false,
      codes: [
        { code: 'A', valid: true, discount_amount: null },
        { code: 'B', valid: false, reason: 'expired', discount_amount: null },
      ],
      order: null,
    });
    expect(checkoutAnswerSchema.parse(answer)).toEqual(answer);
  });

  it('takes 1 to 5 codes, distinct once normalized', () => {
    const paths = (codes: unknown) => codeListSchema.safeParse(codes).error?.issues.map((i) => i.path.join('.'));
    expect(codeListSchema.parse(['abc', 'DEF'])).toEqual(['abc', 'DEF']);
    expect(paths([])).toEqual(['']);
    expect(paths(['a', 'b', 'c', 'd', 'e', 'f'])).toEqual(['']);
    expect(paths(['abc', 'def', ' ABC '])).toEqual(['2']);
    expect(paths(['abc', ''])).toEqual(['1']);
  });
});

describe('schemas in the OpenAPI document', () => {
  it('convert to JSON Schema as the OpenAPI builder converts them', () => {
    const json = (schema: z.ZodType, io: 'input' | 'output') =>
      JSON.stringify(z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }));
    expect(json(discountSchema, 'input')).toContain('"fixed_price"');
    expect(json(orderInputSchema, 'input')).toContain('"items"');
    expect(json(codeListSchema, 'input')).toContain('"maxItems":5');
    expect(json(checkoutAnswerSchema, 'output')).toContain('"not_combinable"');
  });
});
