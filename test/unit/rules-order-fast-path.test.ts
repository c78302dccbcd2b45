import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { isWellFormedItem, isWellFormedOrder, orderInputSchema, orderItemSchema } from '../../src/rules/order.ts';

/**
 * The order's and the order line's shortcuts (src/rules/order.ts) against zod itself: each schema without its
 * shortcut (a clone has the same definition and zod's own parser) must answer exactly as the schema with it, for lines that are well
 * formed, nearly so, or nothing like it (values as a request body holds them: an array with extra properties is not one).
 */

const zodOnly = orderItemSchema.clone();
const zodOnlyOrder = orderInputSchema.clone();
class Tags extends Array<string> {}
const RUNS = { numRuns: 3000 };

const identifierArb = fc.oneof(
  fc.constantFrom('SKU-1', 'shoes', 'p', 'x'.repeat(255), 'x'.repeat(256), '', ' ', ' a', 'a ', '\u00a0a', 'a\ufeff', 'a\n', '\u2028'),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
  fc.integer(),
  fc.constant(null),
);
const integerArb = fc.oneof(
  fc.integer({ min: -2, max: 2_000 }),
  fc.constantFrom(0, -0, 1, 1_000_000_000, 1_000_000_001, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 1.5, Number.NaN),
  fc.constantFrom(Number.POSITIVE_INFINITY, -1, '1', null, 2 ** 60),
  fc.double(),
);
const categoriesArb = fc.oneof(
  fc.array(identifierArb, { maxLength: 4 }),
  fc.array(fc.constant('c'), { minLength: 49, maxLength: 52 }),
  fc.constantFrom('shoes', null, {}, Object.create(Array.prototype), Tags.from(['shoes'])),
);
const metadataArb = fc.oneof(
  fc.object({ maxDepth: 2 }),
  fc.constantFrom(null, [], 'web', 1, JSON.parse('{"__proto__": {"a": 1}}'), Object.create(null), new Date(0)),
);
const lineArb = fc.record(
  {
    sku: identifierArb,
    product_id: identifierArb,
    categories: categoriesArb,
    quantity: integerArb,
    price: integerArb,
    metadata: metadataArb,
    unknown: fc.constant(1),
    product: fc.constant('p'),
  },
  { requiredKeys: [], noNullPrototype: false },
);
// Lines as a checkout sends them, which must take the shortcut.
const wellFormedArb = fc.record(
  {
    sku: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 _-]{0,30}[A-Za-z0-9]$/),
    product_id: fc.constantFrom('P-1', 'P-2'),
    categories: fc.subarray(['shoes', 'shirts', 'gift-cards', 'shipping']),
    quantity: fc.integer({ min: 1, max: 1_000_000_000 }),
    price: fc.maxSafeNat(),
    metadata: fc.dictionary(fc.constantFrom('brand', 'color', 'size'), fc.jsonValue({ maxDepth: 2 }), { noNullPrototype: true }),
  },
  { requiredKeys: ['sku', 'quantity', 'price'], noNullPrototype: true },
);
// A well-formed line with one field set to an edge value (or an unknown key added): where a shortcut could go wrong.
const edgeValues = { sku: identifierArb, product_id: identifierArb, categories: categoriesArb, quantity: integerArb, price: integerArb };
const nearlyWellFormedArb = fc
  .tuple(wellFormedArb, fc.constantFrom(...Object.keys(edgeValues), 'metadata', 'size'), fc.nat())
  .chain(([line, field]) =>
    (field === 'metadata' ? metadataArb : field === 'size' ? fc.constant('L') : edgeValues[field as keyof typeof edgeValues]).map(
      (value) => ({ ...line, [field]: value }),
    ),
  );
const anythingArb = fc.oneof(lineArb, wellFormedArb, nearlyWellFormedArb, nearlyWellFormedArb, fc.anything());

const wellFormedOrderArb = fc.record(
  {
    id: fc.constantFrom('order-1', 'o'),
    currency: fc.constantFrom('EUR', 'USD'),
    amount: fc.maxSafeNat(),
    items: fc.array(wellFormedArb, { maxLength: 4 }),
    metadata: fc.dictionary(fc.constantFrom('channel', 'store'), fc.jsonValue({ maxDepth: 1 }), { noNullPrototype: true }),
  },
  { requiredKeys: ['currency', 'items'], noNullPrototype: true },
);
const orderEdgeValues = {
  id: identifierArb,
  currency: fc.constantFrom('eur', 'Eur', 'EU', 'EURO', 'ÉUR', 'E1R', 'EUR ', 1, null),
  amount: integerArb,
  items: fc.oneof(
    fc.array(fc.oneof(wellFormedArb, nearlyWellFormedArb), { maxLength: 3 }),
    fc.constantFrom(
      Array.from({ length: 501 }, () => ({ sku: 'a', quantity: 1, price: 1 })),
      'items',
      null,
      {},
    ),
  ),
  metadata: metadataArb,
  extra: fc.constant(1),
};
const nearlyWellFormedOrderArb = fc
  .tuple(wellFormedOrderArb, fc.constantFrom(...Object.keys(orderEdgeValues), 'no items'))
  .chain(([order, field]) =>
    field === 'no items'
      ? fc.constant(Object.fromEntries(Object.entries(order).filter(([key]) => key !== 'items')))
      : orderEdgeValues[field as keyof typeof orderEdgeValues].map((value) => ({ ...order, [field]: value })),
  );
const anyOrderArb = fc.oneof(wellFormedOrderArb, nearlyWellFormedOrderArb, nearlyWellFormedOrderArb, fc.anything());

/** The schema with its shortcut answers every input exactly as zod alone does: the same data, or the same issues. */
function answersAsZod(schema: z.ZodType, zodAlone: z.ZodType, inputs: fc.Arbitrary<unknown>): void {
  fc.assert(
    fc.property(inputs, (input) => {
      const fast = schema.safeParse(input);
      const reference = zodAlone.safeParse(input);
      expect(fast.success).toBe(reference.success);
      if (reference.success) expect(fast.data).toEqual(reference.data);
      else expect(fast.error?.issues).toEqual(reference.error.issues);
    }),
    RUNS,
  );
}

/** The check vouches only for values zod alone accepts and gives back equal, key for key. */
function vouchesOnlyForUnchanged(check: (value: unknown) => boolean, zodAlone: z.ZodType, inputs: fc.Arbitrary<unknown>): void {
  fc.assert(
    fc.property(inputs, (input) => {
      if (!check(input)) return;
      const reference = zodAlone.safeParse(input);
      expect(reference.success).toBe(true);
      expect(reference.data).toEqual(input);
      expect(Object.keys(reference.data as object).sort()).toEqual(Object.keys(input as object).sort());
    }),
    RUNS,
  );
}

describe.each([
  {
    what: 'orders',
    schema: orderInputSchema,
    zodAlone: zodOnlyOrder,
    check: isWellFormedOrder,
    inputs: anyOrderArb,
    wellFormed: wellFormedOrderArb,
  },
  {
    what: 'order lines',
    schema: orderItemSchema,
    zodAlone: zodOnly,
    check: isWellFormedItem,
    inputs: anythingArb,
    wellFormed: wellFormedArb,
  },
])('the shortcut for $what', ({ schema, zodAlone, check, inputs, wellFormed }) => {
  it('answers every input exactly as zod does: the same data, or the same issues', () => {
    answersAsZod(schema, zodAlone, inputs);
  });

  it('vouches only for values zod accepts and gives back equal, key for key', () => {
    vouchesOnlyForUnchanged(check, zodAlone, inputs);
  });

  it('takes well-formed values as they are', () => {
    fc.assert(
      fc.property(wellFormed, (value: unknown) => {
        expect(check(value)).toBe(true);
        expect(schema.parse(value)).toBe(value);
        expect(zodAlone.parse(value)).not.toBe(value);
      }),
      { numRuns: 300 },
    );
  });
});

describe('order line shortcut', () => {
  it('takes well-formed lines as they are inside an order', () => {
    const line = { sku: 'SKU-1', categories: ['shoes'], quantity: 2, price: 990, metadata: { brand: 'acme' } };
    expect(orderInputSchema.parse({ currency: 'EUR', items: [line] }).items?.[0]).toBe(line);
  });

  it('leaves the errors of a faulty line to zod, at their paths in the order', () => {
    const result = orderInputSchema.safeParse({
      currency: 'EUR',
      items: [
        { sku: 'ok', quantity: 1, price: 1 },
        { sku: ' ', quantity: 0, price: 1.5, size: 'L' },
      ],
    });
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.code])).toEqual([
      ['items.1.sku', 'too_small'],
      ['items.1.quantity', 'too_small'],
      ['items.1.price', 'invalid_type'],
      ['items.1', 'unrecognized_keys'],
    ]);
  });
});
