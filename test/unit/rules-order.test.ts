import { describe, expect, it } from 'vitest';
import { normalizeOrder, orderInputSchema } from '../../src/rules/order.ts';
import { ValidationError } from '../../src/shared/errors.ts';

const parse = (input: unknown) => orderInputSchema.parse(input);
const faults = (input: unknown) => [...new Set(orderInputSchema.safeParse(input).error?.issues.map((i) => i.path.join('.')))];

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('order model', () => {
  it('keeps an amount-only order as it is, without a line breakdown', () => {
    expect(normalizeOrder(parse({ amount: 4200, currency: 'eur' }))).toEqual({
      id: null,
      currency: 'EUR',
      amount: 4200,
      items: null,
      items_quantity: 0,
      metadata: null,
    });
  });

  it('sums the lines when items come without an amount', () => {
    const order = normalizeOrder(
      parse({
        id: 'o-1',
        currency: 'EUR',
        metadata: { channel: 'web' },
        items: [
          { sku: 'shoe-1', product_id: 'p1', categories: ['shoes'], quantity: 2, price: 4999, metadata: { color: 'red' } },
          { sku: 'sock-1', quantity: 3, price: 500 },
        ],
      }),
    );
    expect(order).toMatchObject({ id: 'o-1', amount: 2 * 4999 + 3 * 500, items_quantity: 5, metadata: { channel: 'web' } });
    expect(order.items).toEqual([
      { sku: 'shoe-1', product_id: 'p1', categories: ['shoes'], quantity: 2, price: 4999, amount: 9998, metadata: { color: 'red' } },
      { sku: 'sock-1', product_id: null, categories: [], quantity: 3, price: 500, amount: 1500, metadata: null },
    ]);
  });

  it('accepts an amount equal to the sum of the items', () => {
    expect(normalizeOrder(parse({ currency: 'EUR', amount: 1000, items: [{ sku: 'a', quantity: 2, price: 500 }] })).amount).toBe(1000);
  });

  it('refuses order_amount_mismatch when amount and items disagree, naming the field', () => {
    const error = refusal(() => normalizeOrder(parse({ currency: 'EUR', amount: 999, items: [{ sku: 'a', quantity: 2, price: 500 }] })));
    expect(error.code).toBe('order_amount_mismatch');
    expect(error.kind).toBe('invalid');
    expect(error.errors).toEqual([{ field: 'order.amount', message: '999 is not the sum of the items (1000)' }]);
    const nested = refusal(() => normalizeOrder(parse({ currency: 'EUR', amount: 1, items: [] }), 'body.order'));
    expect(nested.errors[0]?.field).toBe('body.order.amount');
  });

  it('refuses lines and totals past Number.MAX_SAFE_INTEGER minor units', () => {
    const line = refusal(() => normalizeOrder(parse({ currency: 'EUR', items: [{ sku: 'a', quantity: 3, price: 2 ** 52 }] })));
    expect(line.code).toBe('validation_failed');
    expect(line.errors[0]?.field).toBe('order.items.0');
    const sum = refusal(() =>
      normalizeOrder(
        parse({
          currency: 'EUR',
          items: [
            { sku: 'a', quantity: 1, price: Number.MAX_SAFE_INTEGER - 1 },
            { sku: 'b', quantity: 1, price: 2 },
          ],
        }),
      ),
    );
    expect(sum.errors[0]?.field).toBe('order.items');
    expect(normalizeOrder(parse({ currency: 'EUR', items: [{ sku: 'a', quantity: 1, price: Number.MAX_SAFE_INTEGER }] })).amount).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it('refuses malformed orders in the schema, with paths', () => {
    expect(faults({ currency: 'EUR' })).toEqual(['amount']);
    expect(faults({ amount: 1 })).toEqual(['currency']);
    expect(faults({ currency: 'EURO', amount: 1 })).toEqual(['currency']);
    expect(faults({ currency: 'EUR', amount: -1 })).toEqual(['amount']);
    expect(faults({ currency: 'EUR', amount: 1.5 })).toEqual(['amount']);
    expect(faults({ currency: 'EUR', amount: Number.MAX_SAFE_INTEGER + 1 })).toEqual(['amount']);
    expect(faults({ currency: 'EUR', items: [{ sku: 'a', quantity: 0, price: 1 }] })).toEqual(['items.0.quantity']);
    expect(faults({ currency: 'EUR', items: [{ sku: 'a', quantity: 1.5, price: 1 }] })).toEqual(['items.0.quantity']);
    expect(faults({ currency: 'EUR', items: [{ sku: 'a', quantity: 1, price: 9.99 }] })).toEqual(['items.0.price']);
    expect(faults({ currency: 'EUR', items: [{ sku: '', quantity: 1, price: 1 }] })).toEqual(['items.0.sku']);
    expect(faults({ currency: 'EUR', items: [{ sku: 'a', quantity: 1, price: 1, colour: 'red' }] })).toEqual(['items.0']);
    expect(faults({ currency: 'EUR', items: [{ sku: 'a', quantity: 1, price: 1, categories: 'shoes' }] })).toEqual(['items.0.categories']);
    expect(faults({ currency: 'EUR', amount: 1, metadata: [1] })).toEqual(['metadata']);
    expect(faults({ currency: 'EUR', items: [{ sku: 'a', quantity: 1, price: 1, metadata: 'red' }] })).toEqual(['items.0.metadata']);
    const line = { sku: 'a', quantity: 1, price: 1 };
    expect(faults({ currency: 'EUR', items: Array(500).fill(line) })).toEqual([]);
    expect(faults({ currency: 'EUR', items: Array(501).fill(line) })).toEqual(['items']);
  });
});
