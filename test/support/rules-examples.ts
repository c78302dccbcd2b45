/**
 * The worked examples of docs/rules.md, once: the unit tests run them through the pure core, the e2e tests through
 * HTTP, and both must agree with the page.
 */

/** The `members` segment of the examples: gold and platinum customers. */
export const membersSegment = { name: 'members', when: { field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum'] } };

const shoes = { categories: ['shoes'] };
const tees = { categories: ['t-shirts'] };

/** 20 % off shoes for members, at most 30 €. */
export const shoes20Rules = {
  conditions: [
    { name: 'members-only', when: { field: 'customer.segment', op: 'eq', value: 'members' }, message: 'This code is for members.' },
    { name: 'has-shoes', when: { items: { match: shoes } }, message: 'Add a pair of shoes to use this code.' },
  ],
  discount: { type: 'percent', value: 20, max_amount: 3000, currency: 'EUR', apply_to: { items: { match: shoes } } },
};

export const shoeOrder = {
  id: 'order-1001',
  currency: 'EUR',
  items: [orderLine('RUN-42', 'shoes', 1, 12000), orderLine('TRAIL-42', 'shoes', 1, 9000), orderLine('SOCKS', 'socks', 2, 1500)],
};

/** Buy two T-shirts, get the cheaper one free. */
export const tee2for1Rules = {
  conditions: [{ name: 'two-t-shirts', when: { items: { match: tees, min_quantity: 2 } }, message: 'Add two T-shirts.' }],
  discount: { type: 'unit', quantity: 1, match: tees },
};

export const teeOrder = {
  currency: 'EUR',
  items: [orderLine('TEE-LOGO', 't-shirts', 1, 2500), orderLine('TEE-PLAIN', 't-shirts', 1, 1500)],
};

/** A welcome code for a first order, a free-shipping code, and a second percentage code that does not combine. */
export const welcome10Rules = {
  conditions: [
    {
      name: 'first-order',
      when: { field: 'customer.redemptions_in_campaign', op: 'eq', value: 0 },
      message: 'Welcome codes are for a first order.',
    },
  ],
  discount: { type: 'percent', value: 10 },
  stacking: { priority: 10, exclusive_group: 'percent' },
};
export const shipFreeRules = { discount: { type: 'unit', quantity: 1, match: { sku: 'shipping' } }, stacking: { priority: 20 } };
export const spring15Rules = { discount: { type: 'percent', value: 15 }, stacking: { priority: 5, exclusive_group: 'percent' } };

export const dressOrder = {
  id: 'order-2002',
  currency: 'EUR',
  items: [orderLine('DRESS', 'dresses', 1, 7900), orderLine('shipping', 'shipping', 1, 490)],
};

/** An order line in one category, as a client sends it. */
export function orderLine(sku: string, category: string, quantity: number, price: number) {
  return { sku, categories: [category], quantity, price };
}

/** A priced order line as the API answers it: amount is quantity × price, total_amount what is left after the discount. */
export function pricedLine(sku: string, quantity: number, price: number, discountAmount: number) {
  const amount = quantity * price;
  return { sku, quantity, price, amount, discount_amount: discountAmount, total_amount: amount - discountAmount };
}
