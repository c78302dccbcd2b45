import { describe, expect, it } from 'vitest';
import { html } from '../../src/console/html.ts';
import {
  describeCheck,
  describeCondition,
  describeDiscount,
  describeMatch,
  describeRules,
  describeStacking,
} from '../../src/console/rules-text.ts';
import { type Condition, conditionSchema } from '../../src/rules/conditions.ts';
import { discountSchema } from '../../src/rules/order-discount.ts';

/** Every condition and discount below is first parsed by the rule language's own schema, so none is a shape the API refuses. */
const when = (c: unknown) => describeCondition(conditionSchema.parse(c) as Condition, 'EUR');
const discount = (d: unknown) => describeDiscount(discountSchema.parse(d));
const shoes = { categories: ['shoes'] };

describe('campaign rules in plain words', () => {
  it('says every predicate op', () => {
    expect(when({ field: 'order.amount', op: 'eq', value: 5000 })).toBe('the order total is €50.00');
    expect(when({ field: 'order.amount', op: 'ne', value: 5000 })).toBe('the order total is not €50.00');
    expect(when({ field: 'order.amount', op: 'gt', value: 5000 })).toBe('the order total is more than €50.00');
    expect(when({ field: 'order.amount', op: 'gte', value: 5000 })).toBe('the order total is at least €50.00');
    expect(when({ field: 'order.amount', op: 'lt', value: 123456 })).toBe('the order total is less than €1,234.56');
    expect(when({ field: 'order.amount', op: 'lte', value: 5000 })).toBe('the order total is at most €50.00');
    expect(when({ field: 'order.items_quantity', op: 'gte', value: 1200 })).toBe('the number of items is at least 1,200');
    expect(when({ field: 'order.currency', op: 'in', value: ['eur', 'USD'] })).toBe('the order currency is EUR or USD');
    expect(when({ field: 'order.metadata.channel', op: 'not_in', value: ['app'] })).toBe('order metadata “channel” is not “app”');
    expect(when({ field: 'order.metadata.channel', op: 'not_in', value: ['app', 'pos'] })).toBe(
      'order metadata “channel” is neither “app” nor “pos”',
    );
    expect(when({ field: 'customer.metadata.tier', op: 'not_in', value: ['a', 'b', 'c'] })).toBe(
      'customer metadata “tier” is none of “a”, “b” and “c”',
    );
    expect(when({ field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum', 'diamond'] })).toBe(
      'customer metadata “tier” is “gold”, “platinum” or “diamond”',
    );
    expect(when({ field: 'redemption.metadata.store', op: 'exists' })).toBe('redemption metadata “store” is set');
    expect(when({ field: 'redemption.metadata.store', op: 'exists', value: false })).toBe('redemption metadata “store” is not set');
    expect(when({ field: 'customer.id', op: 'starts_with', value: 'emp-' })).toBe('the customer id starts with “emp-”');
    expect(when({ field: 'order.metadata.tags', op: 'contains', value: 'vip' })).toBe('order metadata “tags” contains “vip”');
    expect(when({ field: 'order.metadata.shipping.country', op: 'eq', value: 'DE' })).toBe('order metadata “shipping.country” is “DE”');
    expect(when({ field: 'order.metadata.gift', op: 'eq', value: true })).toBe('order metadata “gift” is true');
    expect(when({ field: 'customer.redemptions_in_campaign', op: 'eq', value: 0 })).toBe(
      "the customer's redemption count in this campaign is 0",
    );
  });

  it('says segments, days and times as words', () => {
    expect(when({ field: 'customer.segment', op: 'eq', value: 'gold' })).toBe('the customer is in segment “gold”');
    expect(when({ field: 'customer.segment', op: 'ne', value: 'staff' })).toBe('the customer is not in segment “staff”');
    expect(when({ field: 'customer.segment', op: 'in', value: ['gold', 'silver'] })).toBe('the customer is in segment “gold” or “silver”');
    expect(when({ field: 'customer.segment', op: 'not_in', value: ['staff'] })).toBe('the customer is not in segment “staff”');
    expect(when({ field: 'customer.segment', op: 'not_in', value: ['staff', 'press'] })).toBe(
      'the customer is in none of the segments “staff” and “press”',
    );
    expect(when({ field: 'now.day_of_week', op: 'in', value: [6, 7] })).toBe('the day is Saturday or Sunday');
    expect(when({ field: 'now.day_of_week', op: 'eq', value: 1 })).toBe('the day is Monday');
    expect(when({ field: 'now.day_of_week', op: 'lte', value: 5 })).toBe('the day is Friday or earlier in the week');
    expect(when({ field: 'now.day_of_week', op: 'gt', value: 3 })).toBe('the day is after Wednesday');
    expect(when({ field: 'now.time', op: 'gte', value: '18:00' })).toBe('the time is 18:00 or later');
    expect(when({ field: 'now.time', op: 'lt', value: '09:30' })).toBe('the time is before 09:30');
  });

  it('says item predicates with each bound', () => {
    expect(when({ items: { match: shoes } })).toBe('the order has an item in category “shoes”');
    expect(when({ items: { match: {} } })).toBe('the order has an item');
    expect(when({ items: { match: shoes, min_quantity: 2 } })).toBe('the order has at least 2 items in category “shoes”');
    expect(when({ items: { match: shoes, min_quantity: 1 } })).toBe('the order has at least 1 item in category “shoes”');
    expect(when({ items: { match: shoes, max_quantity: 3 } })).toBe('the order has at most 3 items in category “shoes”');
    expect(when({ items: { match: shoes, min_quantity: 2, max_quantity: 4 } })).toBe(
      'the order has between 2 and 4 items in category “shoes”',
    );
    expect(when({ items: { match: shoes, min_quantity: 2, max_quantity: 2 } })).toBe('the order has exactly 2 items in category “shoes”');
    expect(when({ items: { match: shoes, min_amount: 10000 } })).toBe(
      'the order has items in category “shoes” worth at least €100.00 together',
    );
    expect(when({ items: { match: { sku: ['RUN-42', 'TRAIL-42'], metadata: { brand: 'acme' } }, min_quantity: 1200 } })).toBe(
      'the order has at least 1,200 items with SKU “RUN-42” or “TRAIL-42” and with brand “acme”',
    );
    expect(when({ items: { match: { product_id: 'run', categories: ['shoes', 'boots'] } } })).toBe(
      'the order has an item in categories “shoes” or “boots” and of product “run”',
    );
  });

  it('says all, any and not, parenthesizing nested groups', () => {
    expect(when({ all: [{ field: 'customer.segment', op: 'eq', value: 'gold' }, { items: { match: shoes, min_quantity: 2 } }] })).toBe(
      'the customer is in segment “gold”, and the order has at least 2 items in category “shoes”',
    );
    expect(
      when({
        any: [
          { field: 'now.time', op: 'gte', value: '18:00' },
          {
            all: [
              { field: 'now.day_of_week', op: 'in', value: [6, 7] },
              { field: 'order.metadata.channel', op: 'eq', value: 'web' },
            ],
          },
        ],
      }),
    ).toBe('either the time is 18:00 or later, or (the day is Saturday or Sunday, and order metadata “channel” is “web”)');
    expect(when({ any: [{ field: 'customer.segment', op: 'eq', value: 'gold' }] })).toBe('the customer is in segment “gold”');
    expect(when({ not: { items: { match: { categories: ['gift-cards'] } } } })).toBe('the order has no item in category “gift-cards”');
    expect(when({ not: { items: { match: shoes, min_quantity: 2 } } })).toBe('not: the order has at least 2 items in category “shoes”');
    expect(
      when({
        not: {
          any: [
            { field: 'customer.segment', op: 'eq', value: 'staff' },
            { field: 'customer.id', op: 'eq', value: 'x' },
          ],
        },
      }),
    ).toBe('not: (either the customer is in segment “staff”, or the customer id is “x”)');
  });

  it('says order totals in minor units when the rules name no currency', () => {
    expect(describeCondition({ field: 'order.amount', op: 'gte', value: 5000 })).toBe(
      "the order total is at least 5,000 (minor units of the order's currency)",
    );
  });

  it('says a check with its name as a label and the message the checkout shows', () => {
    expect(
      describeCheck(
        { name: 'members-only', when: { field: 'customer.segment', op: 'eq', value: 'gold' }, message: 'This code is for members.' },
        'EUR',
      ),
    ).toBe('Members only: the customer is in segment “gold”. Refused with: “This code is for members.”');
    expect(describeCheck({ name: 'first_order', when: { field: 'customer.redemptions_in_campaign', op: 'eq', value: 0 } })).toBe(
      "First order: the customer's redemption count in this campaign is 0.",
    );
  });

  it('says every discount type and target, money in the currency’s minor units', () => {
    expect(discount({ type: 'percent', value: 20, max_amount: 3000, currency: 'EUR', apply_to: { items: { match: shoes } } })).toBe(
      '20 % off matching lines (category “shoes”), at most €30.00 (EUR orders only).',
    );
    expect(discount({ type: 'percent', value: 12.5 })).toBe('12.5 % off the order.');
    expect(discount({ type: 'percent', value: 10, max_amount: 500, apply_to: 'order' })).toBe(
      "10 % off the order, at most 500 (minor units of the order's currency).",
    );
    expect(discount({ type: 'amount', value: 1000, currency: 'eur' })).toBe('€10.00 off the order.');
    expect(discount({ type: 'amount', value: 1000, currency: 'JPY', apply_to: { items: { match: { sku: 'TEA' } } } })).toBe(
      '¥1,000 off matching lines (SKU “TEA”).',
    );
    expect(discount({ type: 'fixed_price', value: 4999, currency: 'USD' })).toBe('The order costs $49.99 (never more than before).');
    expect(discount({ type: 'fixed_price', value: 500, currency: 'KWD', apply_to: { items: { match: shoes } } })).toBe(
      'The matching lines (category “shoes”) cost KWD\u00a00.500 together (never more than before).',
    );
    expect(discount({ type: 'unit', quantity: 1, match: { categories: ['t-shirts'] } })).toBe(
      '1 unit of matching lines (category “t-shirts”) free, the cheapest first.',
    );
    expect(discount({ type: 'unit', quantity: 2, match: {} })).toBe('2 units of any lines free, the cheapest first.');
  });

  it('says item matches, every criterion', () => {
    expect(describeMatch({})).toBe('any line');
    expect(describeMatch({ categories: ['a', 'b', 'c'], sku: 'S', product_id: ['p', 'q'], metadata: { size: 42 } })).toBe(
      'categories “a”, “b” or “c”, SKU “S”, product “p” or “q” and size 42',
    );
  });

  it('says stacking: exclusive, exclusive groups and priority', () => {
    expect(describeStacking(undefined)).toBe('Stacking: combines with other codes; priority 0 (higher applies first).');
    expect(describeStacking({ exclusive: true, priority: 5 })).toBe(
      'Stacking: combines with no other code; priority 5 (higher applies first).',
    );
    expect(describeStacking({ priority: 10, exclusive_group: 'percent' })).toBe(
      'Stacking: combines with other codes, but never with another code of group “percent”; priority 10 (higher applies first).',
    );
    expect(describeStacking({ priority: -1_000_000 })).toBe(
      'Stacking: combines with other codes; priority -1,000,000 (higher applies first).',
    );
  });

  it('lists a campaign’s rules in order, conditions under one heading, no JSON for any known key', () => {
    const lines = describeRules(
      {
        redemption: { per_code_limit: null, per_customer_campaign_limit: 1 },
        order: { min_amount: 2000, currency: 'EUR' },
        conditions: [
          { name: 'members-only', when: { field: 'customer.segment', op: 'eq', value: 'gold' } },
          { name: 'over-50', when: { field: 'order.amount', op: 'gt', value: 5000 } },
        ],
        discount: { type: 'amount', value: 1000, currency: 'EUR' },
        validity_windows: [{ days_of_week: [6, 7], start_time: '10:00', end_time: '18:00' }],
        stacking: { exclusive: true },
        holder_only: true,
      },
      'Europe/Berlin',
    );
    expect(lines).toEqual([
      'Each code can be redeemed any number of times.',
      'A customer can redeem at most once across the campaign.',
      '€10.00 off the order.',
      'Only for orders of at least €20.00.',
      'All 2 conditions must hold:',
      'Members only: the customer is in segment “gold”.',
      'Over 50: the order total is more than €50.00.',
      'Only usable Sat, Sun, 10:00–18:00 (Europe/Berlin).',
      'Only the customer a code was published to can use it; for anyone else it does not exist.',
      'Stacking: combines with no other code; priority 0 (higher applies first).',
    ]);
    expect(lines.join('\n')).not.toMatch(/[{}[\]]/);
  });

  it('takes the currency of order totals from a condition when nothing else names one', () => {
    const usd = { op: 'eq', value: 'usd', field: 'order.currency' }; // keys in jsonb's order, not the API's
    const lines = describeRules(
      { conditions: [{ name: 'x', when: { all: [usd, { field: 'order.amount', op: 'gte', value: 2500 }] } }] },
      'UTC',
    );
    expect(lines).toContain('X: the order currency is USD, and the order total is at least $25.00.');
  });

  it('keeps a key it does not know as JSON rather than dropping it', () => {
    expect(describeRules({ future_rule: { a: 1 } }, 'UTC')).toContain('future_rule: {"a":1}');
  });

  it('is escaped when the page renders it', () => {
    const lines = describeRules({ conditions: [{ name: 'x', when: { items: { match: { categories: ['<b>&"'] } } } }] }, 'UTC');
    const line = lines.find((l) => l.startsWith('X:'));
    expect(html`<li>${line}</li>`.value).toBe('<li>X: the order has an item in category “&lt;b&gt;&amp;&quot;”.</li>');
  });
});
