import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CodeDecision, checkoutAnswerSchema, combineCodes, compileCheckoutRules } from '../../src/rules/checkout.ts';
import { compileCondition } from '../../src/rules/condition-compiler.ts';
import { type Condition, conditionSchema } from '../../src/rules/conditions.ts';
import { evaluationContext } from '../../src/rules/context.ts';
import { type NormalizedOrder, normalizeOrder, orderInputSchema } from '../../src/rules/order.ts';
import { compileDiscount, type Discount, discountSchema, giveBackDiscount, OrderPricing } from '../../src/rules/order-discount.ts';

/** Random orders, discounts and conditions: the invariants the issue promises, for any input the schemas accept. */

const RUNS = { numRuns: 400 };
const CATEGORIES = ['shoes', 't-shirts', 'gift-cards', 'shipping'];
const SKUS = ['SHOE', 'TEE-A', 'TEE-B', 'GIFT', 'shipping'];

// Prices up to 2e11 minor units keep 30 lines of 1,000 units under 2^53 while their products pass it (the BigInt paths).
const priceArb = fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 200_000_000_000 }));
const lineArb = fc.record(
  {
    sku: fc.constantFrom(...SKUS),
    categories: fc.subarray(CATEGORIES),
    quantity: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1000 })),
    price: priceArb,
  },
  { requiredKeys: ['sku', 'quantity', 'price'] },
);
const orderArb: fc.Arbitrary<NormalizedOrder> = fc
  .oneof(
    fc.record({ currency: fc.constant('EUR'), items: fc.array(lineArb, { maxLength: 30 }) }),
    fc.record({ currency: fc.constant('EUR'), amount: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.maxSafeNat()) }),
  )
  .map((input) => normalizeOrder(orderInputSchema.parse(input)));

const matchArb = fc.record({ sku: fc.constantFrom(...SKUS), categories: fc.subarray(CATEGORIES, { minLength: 1 }) }, { requiredKeys: [] });
const applyToArb = fc.option(
  fc.oneof(
    fc.constant('order' as const),
    matchArb.map((match) => ({ items: { match } })),
  ),
  { nil: undefined },
);
const percentArb = fc.oneof(
  fc.integer({ min: 1, max: 10_000 }).map((n) => n / 100),
  fc.double({ min: 1e-9, max: 100, noNaN: true, noDefaultInfinity: true }),
);
const moneyArb = fc.oneof(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 1, max: 1e14 }));
const discountArb: fc.Arbitrary<Discount> = fc
  .oneof(
    fc.record({
      type: fc.constant('percent'),
      value: percentArb,
      max_amount: fc.option(moneyArb, { nil: undefined }),
      apply_to: applyToArb,
    }),
    fc.record({ type: fc.constant('amount'), value: moneyArb, currency: fc.constant('EUR'), apply_to: applyToArb }),
    fc.record({ type: fc.constant('fixed_price'), value: fc.nat({ max: 1e12 }), currency: fc.constant('EUR'), apply_to: applyToArb }),
    fc.record({ type: fc.constant('unit'), quantity: fc.integer({ min: 1, max: 20 }), match: matchArb }),
  )
  .map((d) => discountSchema.parse(JSON.parse(JSON.stringify(d))));

const stackingArb = fc.record(
  { exclusive: fc.boolean(), priority: fc.integer({ min: -3, max: 3 }), exclusive_group: fc.constantFrom('percent', 'shipping') },
  { requiredKeys: [] },
);
const decisionArb = fc.record({
  refused: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  discount: fc.option(discountArb, { nil: undefined }),
  stacking: stackingArb,
});
const codesArb = fc.array(decisionArb, { minLength: 1, maxLength: 5 });

function decisions(codes: readonly { refused: boolean; discount?: Discount; stacking: object }[]): CodeDecision[] {
  return codes.map((c, i) =>
    c.refused
      ? { code: `C${i}`, refusal: { reason: 'expired' } }
      : { code: `C${i}`, refusal: null, rules: compileCheckoutRules({ discount: c.discount ?? null, stacking: c.stacking }) },
  );
}

function assertConsistent(order: NormalizedOrder, priced: ReturnType<OrderPricing['result']>): void {
  expect(priced.amount).toBe(order.amount);
  expect(priced.total_amount).toBeGreaterThanOrEqual(0);
  expect(priced.discount_amount).toBeGreaterThanOrEqual(0);
  expect(priced.discount_amount + priced.total_amount).toBe(priced.amount);
  if (!order.items) {
    expect(priced.items).toBeUndefined();
    return;
  }
  const items = priced.items ?? [];
  expect(items).toHaveLength(order.items.length);
  let totals = 0;
  let discounts = 0;
  for (const line of items) {
    expect(line.total_amount).toBeGreaterThanOrEqual(0);
    expect(line.discount_amount).toBeGreaterThanOrEqual(0);
    expect(line.discount_amount + line.total_amount).toBe(line.amount);
    totals += line.total_amount;
    discounts += line.discount_amount;
  }
  expect(totals).toBe(priced.total_amount);
  expect(discounts).toBe(priced.discount_amount);
}

describe('discount properties', () => {
  it('never goes below zero, and the lines always sum exactly to the order, however many discounts apply', () => {
    fc.assert(
      fc.property(orderArb, fc.array(discountArb, { maxLength: 6 }), (order, discounts) => {
        const pricing = new OrderPricing(order);
        let taken = 0;
        for (const discount of discounts) {
          const before = pricing.totalAmount;
          const amount = pricing.apply(compileDiscount(discount));
          expect(amount).toBeGreaterThanOrEqual(0);
          expect(amount).toBeLessThanOrEqual(before);
          if (discount.type === 'percent' && discount.max_amount !== undefined) expect(amount).toBeLessThanOrEqual(discount.max_amount);
          if (discount.type === 'amount') expect(amount).toBeLessThanOrEqual(discount.value);
          taken += amount;
        }
        const priced = pricing.result();
        assertConsistent(order, priced);
        expect(priced.discount_amount).toBe(taken);
      }),
      RUNS,
    );
  });

  it('gives a discount back (a budget that granted less) and the lines still sum exactly to the order, none below zero', () => {
    fc.assert(
      fc.property(
        orderArb,
        fc.array(discountArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
        (order, discounts, backs) => {
          const pricing = new OrderPricing(order);
          for (const discount of discounts) pricing.apply(compileDiscount(discount));
          const priced = pricing.result();
          const before = priced.items?.map((item) => item.discount_amount);
          for (const back of backs) {
            const by = Math.floor(priced.discount_amount * back);
            const was = priced.discount_amount;
            giveBackDiscount(priced, by);
            expect(priced.discount_amount).toBe(was - by);
            assertConsistent(order, priced);
          }
          // No line gives back more than it had.
          for (const [i, item] of (priced.items ?? []).entries()) expect(item.discount_amount).toBeLessThanOrEqual(before?.[i] as number);
        },
      ),
      RUNS,
    );
  });

  it('takes exactly floor(base × percent), capped by max_amount, on an amount-only order', () => {
    // Percentages with up to six decimals, as n / 10^6: the reference computes with n itself, in BigInt.
    const millionths = fc.integer({ min: 1, max: 100_000_000 });
    fc.assert(
      fc.property(fc.maxSafeNat(), millionths, fc.option(moneyArb, { nil: undefined }), (amount, n, max) => {
        const discount = discountSchema.parse({ type: 'percent', value: n / 1e6, ...(max === undefined ? {} : { max_amount: max }) });
        const order = normalizeOrder(orderInputSchema.parse({ currency: 'EUR', amount }));
        const taken = new OrderPricing(order).apply(compileDiscount(discount));
        const exact = Number((BigInt(amount) * BigInt(n)) / 100_000_000n);
        expect(taken).toBe(max === undefined ? exact : Math.min(exact, max));
      }),
      RUNS,
    );
  });

  it('spreads one order discount in proportion: each line gets its exact share rounded down or up', () => {
    fc.assert(
      fc.property(orderArb, discountArb, (order, raw) => {
        if (!order.items || raw.type === 'unit' || (raw.apply_to !== undefined && raw.apply_to !== 'order')) return;
        const pricing = new OrderPricing(order);
        const taken = BigInt(pricing.apply(compileDiscount(raw)));
        const base = BigInt(order.amount);
        for (const line of pricing.result().items ?? []) {
          const floor = base === 0n ? 0n : (taken * BigInt(line.amount)) / base;
          expect([floor, floor + 1n]).toContain(BigInt(line.discount_amount));
        }
      }),
      RUNS,
    );
  });
});

describe('several codes: properties', () => {
  it('never take more than the order, and price only the codes that apply', () => {
    fc.assert(
      fc.property(orderArb, codesArb, (order, codes) => {
        const answer = combineCodes(decisions(codes), order);
        checkoutAnswerSchema.parse(answer);
        const priced = answer.order as NonNullable<typeof answer.order>;
        assertConsistent(order, priced);
        let sum = 0;
        for (const code of answer.codes) {
          sum += code.discount_amount as number;
          if (!code.valid) expect(code.discount_amount).toBe(0);
        }
        expect(sum).toBe(priced.discount_amount);
        expect(sum).toBeLessThanOrEqual(order.amount);
        expect(answer.valid).toBe(answer.codes.every((c) => c.valid));
        const applied = answer.codes.filter((c) => c.valid).length;
        const exclusive = codes.some((c, i) => !c.refused && c.stacking.exclusive && answer.codes[i]?.valid);
        if (exclusive) expect(applied).toBe(1);
      }),
      RUNS,
    );
  });

  it('is deterministic: equal inputs give equal answers', () => {
    fc.assert(
      fc.property(orderArb, codesArb, (order, codes) => {
        const first = combineCodes(decisions(codes), order);
        const again = combineCodes(decisions(structuredClone(codes)), structuredClone(order));
        expect(again).toEqual(first);
      }),
      RUNS,
    );
  });
});

const timeArb = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const predicateArb: fc.Arbitrary<Condition> = fc.oneof(
  fc.record({
    field: fc.constantFrom('order.amount', 'order.items_quantity', 'customer.redemptions_in_campaign'),
    op: fc.constantFrom('eq', 'ne', 'gt', 'gte', 'lt', 'lte'),
    value: fc.integer({ min: 0, max: 20_000 }),
  }),
  fc.record({ field: fc.constant('now.day_of_week'), op: fc.constantFrom('eq', 'ne', 'lte', 'gt'), value: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ field: fc.constant('now.time'), op: fc.constantFrom('gte', 'lt'), value: timeArb }),
  fc.record({
    field: fc.constant('customer.metadata.tier'),
    op: fc.constantFrom('in', 'not_in'),
    value: fc.subarray(['gold', 'silver', 'bronze'], { minLength: 1 }),
  }),
  fc
    .record({
      field: fc.constant('customer.id'),
      op: fc.constantFrom('eq', 'starts_with', 'contains', 'exists'),
      value: fc.constantFrom('c-1', 'c-', '1'),
    })
    .map((p) => (p.op === 'exists' ? { field: p.field, op: p.op } : p)),
  fc.record({
    items: fc.record(
      { match: matchArb, min_quantity: fc.integer({ min: 1, max: 10 }), min_amount: fc.nat({ max: 50_000 }) },
      { requiredKeys: ['match'] },
    ),
  }),
) as fc.Arbitrary<Condition>;
const conditionArb: fc.Arbitrary<Condition> = fc.letrec<{ node: Condition }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    predicateArb,
    fc.record({ all: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ any: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ not: tie('node') }),
  ) as fc.Arbitrary<Condition>,
})).node;
const contextArb = fc.record({
  order: fc.option(orderArb, { nil: null }),
  customer: fc.option(
    fc.record({ id: fc.constantFrom('c-1', 'c-2', 'x'), metadata: fc.record({ tier: fc.constantFrom('gold', 'silver', 'x') }) }),
    { nil: null },
  ),
  redemptionMetadata: fc.constant(null),
  customerRedemptionsInCampaign: fc.nat({ max: 3 }),
  now: fc.date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2027-01-01T00:00:00Z'), noInvalidDate: true }),
  timeZone: fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata'),
  segments: fc.constant(null),
});

describe('condition properties', () => {
  it('accepts every well-formed condition, and evaluates it deterministically', () => {
    fc.assert(
      fc.property(conditionArb, contextArb, (condition, input) => {
        const parsed = conditionSchema.parse(condition);
        const once = compileCondition(parsed)(evaluationContext(input));
        expect(compileCondition(structuredClone(parsed))(evaluationContext(structuredClone(input)))).toBe(once);
        expect(compileCondition({ not: parsed })(evaluationContext(input))).toBe(!once);
      }),
      RUNS,
    );
  });

  it('makes ne and not_in the negations of eq and in', () => {
    fc.assert(
      fc.property(contextArb, fc.integer({ min: 0, max: 20_000 }), (input, value) => {
        const ctx = evaluationContext(input);
        const eq = compileCondition({ field: 'order.amount', op: 'eq', value })(ctx);
        expect(compileCondition({ field: 'order.amount', op: 'ne', value })(ctx)).toBe(!eq);
        const inList = compileCondition({ field: 'customer.metadata.tier', op: 'in', value: ['gold'] })(ctx);
        expect(compileCondition({ field: 'customer.metadata.tier', op: 'not_in', value: ['gold'] })(ctx)).toBe(!inList);
      }),
      RUNS,
    );
  });
});
