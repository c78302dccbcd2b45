import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileCheckoutRules } from '../../src/rules/checkout.ts';
import { CompiledChecks, minAmountCheck } from '../../src/rules/checks.ts';
import { compileCondition } from '../../src/rules/condition-compiler.ts';
import { assertKnownSegments, type Check, checksSchema, conditionSchema, segmentConditionSchema } from '../../src/rules/conditions.ts';
import { type EvaluationInput, evaluationContext, overlayCustomer } from '../../src/rules/context.ts';
import { normalizeOrder, orderInputSchema } from '../../src/rules/order.ts';
import { SegmentCatalogue, segmentDefinitionSchema } from '../../src/rules/segments.ts';
import { DomainError, ValidationError } from '../../src/shared/errors.ts';

const order = normalizeOrder(
  orderInputSchema.parse({
    id: 'o-1',
    currency: 'EUR',
    metadata: { channel: 'web', tags: ['gift', 'rush'], shipping: { country: 'FR' }, weight: 1200 },
    items: [
      { sku: 'SHOE-RED-42', product_id: 'shoe', categories: ['shoes', 'sale'], quantity: 1, price: 8000, metadata: { brand: 'acme' } },
      { sku: 'TEE-S', product_id: 'tee', categories: ['t-shirts'], quantity: 2, price: 1500 },
      { sku: 'GIFT-50', product_id: 'gift', categories: ['gift-cards'], quantity: 1, price: 5000 },
    ],
  }),
);

const base: EvaluationInput = {
  order,
  customer: { id: 'cust-42', metadata: { tier: 'gold', since: '2024-05-01', orders: 7, vip: true } },
  redemptionMetadata: { source: 'newsletter-2026' },
  customerRedemptionsInCampaign: 0,
  now: new Date('2026-03-04T10:15:00Z'),
  timeZone: 'UTC',
  segments: null,
};

const holds = (when: unknown, over: Partial<EvaluationInput> = {}) =>
  compileCondition(conditionSchema.parse(when))(evaluationContext({ ...base, ...over }));
const faults = (schema: z.ZodType, value: unknown) => schema.safeParse(value).error?.issues.map((i) => [i.path.join('.'), i.message]) ?? [];
const faultPaths = (value: unknown) => faults(conditionSchema, value).map(([path]) => path);

describe('condition language: fields and ops', () => {
  it('compares order.amount with every numeric op', () => {
    const amount = order.amount; // 8000 + 3000 + 5000
    expect(amount).toBe(16000);
    const cases: [string, unknown, boolean][] = [
      ['eq', 16000, true],
      ['eq', 15999, false],
      ['ne', 15999, true],
      ['ne', 16000, false],
      ['in', [1, 16000], true],
      ['in', [1, 2], false],
      ['not_in', [1, 2], true],
      ['not_in', [16000], false],
      ['gt', 15999, true],
      ['gt', 16000, false],
      ['gte', 16000, true],
      ['gte', 16001, false],
      ['lt', 16001, true],
      ['lt', 16000, false],
      ['lte', 16000, true],
      ['lte', 15999, false],
      ['exists', true, true],
      ['exists', false, false],
    ];
    for (const [op, value, expected] of cases)
      expect([op, value, holds({ field: 'order.amount', op, value })]).toEqual([op, value, expected]);
    expect(holds({ field: 'order.amount', op: 'exists' })).toBe(true);
  });

  it('treats an absent value as satisfying no comparison (ne and not_in are their negations)', () => {
    const none = { order: null, customer: null, redemptionMetadata: null };
    expect(holds({ field: 'order.amount', op: 'gte', value: 0 }, none)).toBe(false);
    expect(holds({ field: 'order.amount', op: 'eq', value: 0 }, none)).toBe(false);
    expect(holds({ field: 'order.amount', op: 'in', value: [0] }, none)).toBe(false);
    expect(holds({ field: 'order.amount', op: 'ne', value: 0 }, none)).toBe(true);
    expect(holds({ field: 'order.amount', op: 'not_in', value: [0] }, none)).toBe(true);
    expect(holds({ field: 'order.amount', op: 'exists' }, none)).toBe(false);
    expect(holds({ field: 'order.amount', op: 'exists', value: false }, none)).toBe(true);
    expect(holds({ field: 'customer.id', op: 'starts_with', value: '' }, none)).toBe(false);
    expect(holds({ field: 'customer.metadata.tier', op: 'contains', value: 'g' }, none)).toBe(false);
    expect(holds({ field: 'redemption.metadata.source', op: 'exists' }, none)).toBe(false);
  });

  it('reads order.items_quantity, 0 for an amount-only order', () => {
    expect(holds({ field: 'order.items_quantity', op: 'eq', value: 4 })).toBe(true);
    const amountOnly = normalizeOrder(orderInputSchema.parse({ currency: 'EUR', amount: 100 }));
    expect(holds({ field: 'order.items_quantity', op: 'eq', value: 0 }, { order: amountOnly })).toBe(true);
  });

  it('reads order.currency, comparing upper-cased', () => {
    expect(holds({ field: 'order.currency', op: 'eq', value: 'eur' })).toBe(true);
    expect(holds({ field: 'order.currency', op: 'in', value: ['USD', 'GBP'] })).toBe(false);
  });

  it('reads metadata keys, nested keys and only own keys', () => {
    expect(holds({ field: 'order.metadata.channel', op: 'eq', value: 'web' })).toBe(true);
    expect(holds({ field: 'order.metadata.shipping.country', op: 'in', value: ['FR', 'BE'] })).toBe(true);
    expect(holds({ field: 'order.metadata.shipping.zip', op: 'exists' })).toBe(false);
    expect(holds({ field: 'order.metadata.channel.nested', op: 'exists' })).toBe(false);
    expect(holds({ field: 'order.metadata.constructor', op: 'exists' })).toBe(false);
    expect(holds({ field: 'order.metadata.toString', op: 'exists' })).toBe(false);
    expect(holds({ field: 'redemption.metadata.source', op: 'starts_with', value: 'newsletter' })).toBe(true);
    expect(holds({ field: 'redemption.metadata.source', op: 'contains', value: '2026' })).toBe(true);
  });

  it('compares metadata values only with operands of their own type', () => {
    expect(holds({ field: 'order.metadata.weight', op: 'gt', value: 1000 })).toBe(true);
    expect(holds({ field: 'order.metadata.weight', op: 'gt', value: '1000' })).toBe(false);
    expect(holds({ field: 'order.metadata.weight', op: 'eq', value: '1200' })).toBe(false);
    expect(holds({ field: 'customer.metadata.since', op: 'gte', value: '2024-01-01' })).toBe(true);
    expect(holds({ field: 'customer.metadata.since', op: 'lt', value: '2024-01-01' })).toBe(false);
    expect(holds({ field: 'customer.metadata.orders', op: 'lte', value: 7 })).toBe(true);
    expect(holds({ field: 'customer.metadata.vip', op: 'eq', value: true })).toBe(true);
    expect(holds({ field: 'customer.metadata.vip', op: 'starts_with', value: 't' })).toBe(false);
    expect(holds({ field: 'customer.metadata.tier', op: 'eq', value: null })).toBe(false);
    expect(holds({ field: 'customer.metadata.tier', op: 'eq', value: null }, { customer: { id: 'c', metadata: { tier: null } } })).toBe(
      true,
    );
  });

  it('contains tests substrings of strings and elements of arrays', () => {
    expect(holds({ field: 'order.metadata.tags', op: 'contains', value: 'gift' })).toBe(true);
    expect(holds({ field: 'order.metadata.tags', op: 'contains', value: 'gi' })).toBe(false);
    expect(holds({ field: 'order.metadata.channel', op: 'contains', value: 'e' })).toBe(true);
    expect(holds({ field: 'order.metadata.weight', op: 'contains', value: 2 })).toBe(false);
  });

  it('reads customer.id and customer.metadata, absent without a customer', () => {
    expect(holds({ field: 'customer.id', op: 'eq', value: 'cust-42' })).toBe(true);
    expect(holds({ field: 'customer.id', op: 'starts_with', value: 'cust-' })).toBe(true);
    expect(holds({ field: 'customer.id', op: 'contains', value: '-4' })).toBe(true);
    expect(holds({ field: 'customer.id', op: 'not_in', value: ['a', 'b'] })).toBe(true);
    expect(holds({ field: 'customer.id', op: 'exists' }, { customer: null })).toBe(false);
    expect(holds({ field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum'] })).toBe(true);
  });

  it('reads customer.redemptions_in_campaign only when there is a customer', () => {
    expect(holds({ field: 'customer.redemptions_in_campaign', op: 'lt', value: 1 })).toBe(true);
    expect(holds({ field: 'customer.redemptions_in_campaign', op: 'lt', value: 1 }, { customerRedemptionsInCampaign: 1 })).toBe(false);
    expect(holds({ field: 'customer.redemptions_in_campaign', op: 'lt', value: 1 }, { customer: null })).toBe(false);
  });

  it('reads now.day_of_week and now.time in the campaign time zone', () => {
    // 2026-03-01 is a Sunday: 23:30 UTC is Monday 00:30 in Paris (UTC+1) and Sunday 18:30 in New York (UTC-5).
    const late = new Date('2026-03-01T23:30:00Z');
    expect(holds({ field: 'now.day_of_week', op: 'eq', value: 7 }, { now: late, timeZone: 'UTC' })).toBe(true);
    expect(holds({ field: 'now.day_of_week', op: 'eq', value: 1 }, { now: late, timeZone: 'Europe/Paris' })).toBe(true);
    expect(holds({ field: 'now.time', op: 'lt', value: '01:00' }, { now: late, timeZone: 'Europe/Paris' })).toBe(true);
    expect(holds({ field: 'now.time', op: 'eq', value: '18:30' }, { now: late, timeZone: 'America/New_York' })).toBe(true);
    expect(holds({ field: 'now.day_of_week', op: 'in', value: [6, 7] }, { now: late, timeZone: 'America/New_York' })).toBe(true);
    expect(holds({ field: 'now.day_of_week', op: 'lte', value: 5 }, { now: late, timeZone: 'America/New_York' })).toBe(false);
    // Paris leaves UTC+1 for UTC+2 at 01:00 UTC on 2026-03-29.
    const happyHour = {
      all: [
        { field: 'now.time', op: 'gte', value: '02:00' },
        { field: 'now.time', op: 'lt', value: '04:00' },
      ],
    };
    expect(holds(happyHour, { now: new Date('2026-03-29T00:30:00Z'), timeZone: 'Europe/Paris' })).toBe(false);
    expect(holds(happyHour, { now: new Date('2026-03-29T01:30:00Z'), timeZone: 'Europe/Paris' })).toBe(true);
    expect(holds({ field: 'now.time', op: 'lt', value: '24:00' })).toBe(true);
  });
});

describe('condition language: combinators and item predicates', () => {
  const gold = { field: 'customer.metadata.tier', op: 'eq', value: 'gold' };
  const big = { field: 'order.amount', op: 'gt', value: 100000 };

  it('combines with all, any and not, nested', () => {
    expect(holds({ all: [gold] })).toBe(true);
    expect(holds({ all: [gold, big] })).toBe(false);
    expect(holds({ any: [gold, big] })).toBe(true);
    expect(holds({ any: [big, { not: gold }] })).toBe(false);
    expect(holds({ not: { not: gold } })).toBe(true);
    expect(holds({ all: [{ any: [big, { all: [gold, { not: big }] }] }, { not: { any: [big] } }] })).toBe(true);
  });

  it('tests the lines that match: default at least one unit, or the given bounds', () => {
    expect(holds({ items: { match: { categories: ['shoes'] } } })).toBe(true);
    expect(holds({ items: { match: { categories: ['hats'] } } })).toBe(false);
    expect(holds({ items: { match: {} } })).toBe(true);
    expect(holds({ items: { match: { categories: ['t-shirts'] }, min_quantity: 2 } })).toBe(true);
    expect(holds({ items: { match: { categories: ['t-shirts'] }, min_quantity: 3 } })).toBe(false);
    expect(holds({ items: { match: { categories: ['t-shirts', 'shoes'] }, min_amount: 11000 } })).toBe(true);
    expect(holds({ items: { match: { categories: ['t-shirts', 'shoes'] }, min_amount: 11001 } })).toBe(false);
    expect(holds({ items: { match: { categories: ['t-shirts'] }, max_quantity: 2 } })).toBe(true);
    expect(holds({ items: { match: { categories: ['t-shirts'] }, max_quantity: 1 } })).toBe(false);
    expect(holds({ items: { match: { categories: ['hats'] }, max_quantity: 0 } })).toBe(true);
    expect(holds({ items: { match: { categories: ['shoes'] }, min_quantity: 1, max_quantity: 1, min_amount: 8000 } })).toBe(true);
  });

  it('matches lines by sku, product_id, categories and metadata, all given criteria together', () => {
    expect(holds({ items: { match: { sku: 'TEE-S' }, min_quantity: 2 } })).toBe(true);
    expect(holds({ items: { match: { sku: ['TEE-M', 'TEE-S'] } } })).toBe(true);
    expect(holds({ items: { match: { sku: 'tee-s' } } })).toBe(false);
    expect(holds({ items: { match: { product_id: 'shoe' } } })).toBe(true);
    expect(holds({ items: { match: { product_id: ['hat', 'scarf'] } } })).toBe(false);
    expect(holds({ items: { match: { metadata: { brand: 'acme' } } } })).toBe(true);
    expect(holds({ items: { match: { metadata: { brand: 'other' } } } })).toBe(false);
    expect(holds({ items: { match: { product_id: 'tee', categories: ['shoes'] } } })).toBe(false);
    expect(holds({ items: { match: { product_id: 'shoe', categories: ['sale'], metadata: { brand: 'acme' } } } })).toBe(true);
  });

  it('writes "does not contain gift cards" as not items', () => {
    const noGiftCards = { not: { items: { match: { categories: ['gift-cards'] } } } };
    expect(holds(noGiftCards)).toBe(false);
    const withoutGift = normalizeOrder(
      orderInputSchema.parse({ currency: 'EUR', items: [{ sku: 'TEE-S', categories: ['t-shirts'], quantity: 1, price: 1500 }] }),
    );
    expect(holds(noGiftCards, { order: withoutGift })).toBe(true);
  });

  it('sees no lines in an amount-only order', () => {
    const amountOnly = normalizeOrder(orderInputSchema.parse({ currency: 'EUR', amount: 90000 }));
    expect(holds({ items: { match: {} } }, { order: amountOnly })).toBe(false);
    expect(holds({ not: { items: { match: { categories: ['gift-cards'] } } } }, { order: amountOnly })).toBe(true);
  });
});

describe('segments', () => {
  const catalogue = new SegmentCatalogue([
    segmentDefinitionSchema.parse({ name: 'members', when: { field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum'] } }),
    segmentDefinitionSchema.parse({ name: 'staff', when: { field: 'customer.id', op: 'starts_with', value: 'staff-' } }),
  ]);

  it('tests membership by name with eq, ne, in and not_in; an unknown segment is not a member', () => {
    const segments = catalogue.membership(base.customer);
    expect(holds({ field: 'customer.segment', op: 'eq', value: 'members' }, { segments })).toBe(true);
    expect(holds({ field: 'customer.segment', op: 'ne', value: 'members' }, { segments })).toBe(false);
    expect(holds({ field: 'customer.segment', op: 'eq', value: 'staff' }, { segments })).toBe(false);
    expect(holds({ field: 'customer.segment', op: 'in', value: ['staff', 'members'] }, { segments })).toBe(true);
    expect(holds({ field: 'customer.segment', op: 'not_in', value: ['staff', 'members'] }, { segments })).toBe(false);
    expect(holds({ field: 'customer.segment', op: 'eq', value: 'nobody-defined-this' }, { segments })).toBe(false);
    expect(holds({ field: 'customer.segment', op: 'eq', value: 'members' }, { segments: null })).toBe(false);
    const none = catalogue.membership(null);
    expect(holds({ field: 'customer.segment', op: 'eq', value: 'members' }, { customer: null, segments: none })).toBe(false);
    expect(holds({ field: 'customer.segment', op: 'ne', value: 'members' }, { customer: null, segments: none })).toBe(true);
  });

  it('evaluates a segment lazily, at most once per membership', () => {
    let reads = 0;
    const metadata = {
      get tier() {
        reads++;
        return 'gold';
      },
    };
    const segments = catalogue.membership({ id: 'c', metadata });
    expect(reads).toBe(0);
    expect(segments.isMember('members')).toBe(true);
    expect(segments.isMember('members')).toBe(true);
    expect(holds({ field: 'customer.segment', op: 'eq', value: 'members' }, { segments })).toBe(true);
    expect(reads).toBe(1);
    expect(segments.isMember('staff')).toBe(false);
    expect(reads).toBe(1);
  });

  it('refuses segment conditions that read anything but the customer', () => {
    expect(faults(segmentConditionSchema, { field: 'order.amount', op: 'gt', value: 1 })).toEqual([
      ['field', 'a segment reads only customer.id and customer.metadata.<key>'],
    ]);
    expect(faults(segmentConditionSchema, { field: 'customer.segment', op: 'eq', value: 'x' }).map(([p]) => p)).toEqual(['field']);
    expect(faults(segmentConditionSchema, { field: 'now.time', op: 'gt', value: '10:00' }).map(([p]) => p)).toEqual(['field']);
    expect(faults(segmentConditionSchema, { any: [{ items: { match: {} } }] }).map(([p]) => p)).toEqual(['any.0.items']);
    expect(faults(segmentDefinitionSchema, { name: 'bad name', when: { field: 'customer.id', op: 'exists' } }).map(([p]) => p)).toEqual([
      'name',
    ]);
  });

  it('lets the caller refuse unknown segment names at save time, with their paths', () => {
    const checks = checksSchema.parse([
      { name: 'members', when: { field: 'customer.segment', op: 'eq', value: 'members' } },
      {
        name: 'either',
        when: {
          any: [
            { field: 'order.amount', op: 'gt', value: 1 },
            { field: 'customer.segment', op: 'in', value: ['staff', 'vip'] },
          ],
        },
      },
    ]);
    expect(() => assertKnownSegments(checks, new Set(['members', 'staff', 'vip']))).not.toThrow();
    try {
      assertKnownSegments(checks, new Set(['members']));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).errors).toEqual([
        { field: 'rules.conditions.1.when.any.1.value.0', message: 'no segment named "staff"' },
        { field: 'rules.conditions.1.when.any.1.value.1', message: 'no segment named "vip"' },
      ]);
    }
  });
});

describe('condition language: refused at save time with the path of the fault', () => {
  it('names the path of each fault inside the rules', () => {
    const rules = z.object({ rules: z.object({ conditions: checksSchema }) });
    const body = {
      rules: {
        conditions: [
          { name: 'ok', when: { field: 'order.amount', op: 'gte', value: 5000 } },
          {
            name: 'deep',
            when: {
              all: [{ field: 'order.amount', op: 'gt', value: 1 }, { any: [{ not: { field: 'order.total', op: 'eq', value: 1 } }] }],
            },
          },
        ],
      },
    };
    expect(faults(rules, body)).toEqual([
      ['rules.conditions.1.when.all.1.any.0.not.field', expect.stringMatching(/^unknown field; one of order\.amount/)],
    ]);
  });

  it('refuses what does not parse', () => {
    expect(faultPaths('order.amount > 5')).toEqual(['']);
    expect(faultPaths(null)).toEqual(['']);
    expect(faultPaths({})).toEqual(['']);
    expect(faults(conditionSchema, {})[0]?.[1]).toMatch(/one of \{all/);
    expect(faults(conditionSchema, { fild: 'order.amount' })).toEqual([
      ['', 'Unrecognized key: "fild"'],
      ['', expect.stringMatching(/^a condition is one of/)],
    ]);
    expect(faultPaths({ all: [] })).toEqual(['all']);
    expect(faultPaths({ all: {} })).toEqual(['all']);
    expect(faultPaths({ any: [{ field: 'order.amount', op: 'gt', value: 1 }, 'x'] })).toEqual(['any.1']);
    expect(
      faultPaths({ all: [{ field: 'order.amount', op: 'gt', value: 1 }], not: { field: 'order.amount', op: 'gt', value: 1 } }),
    ).toEqual(['']);
    expect(
      faults(conditionSchema, { all: [{ field: 'customer.id', op: 'exists' }], any: [{ field: 'customer.id', op: 'exists' }] })[0]?.[1],
    ).toBe('a condition has exactly one of all, any, not, field, items; this one has all and any');
    expect(faultPaths({ not: { field: 'customer.id', op: 'exists' }, op: 'eq' })).toEqual(['op']);
    expect(faultPaths({ field: 3, op: 'eq', value: 1 })).toEqual(['field']);
  });

  it('refuses unknown fields and ops', () => {
    expect(faultPaths({ field: 'order.total', op: 'eq', value: 1 })).toEqual(['field']);
    expect(faultPaths({ field: 'customer.email', op: 'eq', value: 'a' })).toEqual(['field']);
    expect(faultPaths({ field: 'order.metadata.', op: 'exists' })).toEqual(['field']);
    expect(faultPaths({ field: 'order.metadata.a..b', op: 'exists' })).toEqual(['field']);
    expect(faultPaths({ field: 'order.metadata.a.b.c.d.e.f', op: 'exists' })).toEqual(['field']);
    expect(faultPaths({ field: 'order.amount', op: 'between', value: [1, 2] })).toEqual(['op']);
    expect(faultPaths({ field: 'order.amount', value: 1 })).toEqual(['op']);
  });

  it('refuses ops that do not fit the field and values of the wrong type', () => {
    const cases: [unknown, string[]][] = [
      [{ field: 'customer.id', op: 'gt', value: 'a' }, ['op']],
      [{ field: 'order.currency', op: 'starts_with', value: 'E' }, ['op']],
      [{ field: 'order.amount', op: 'contains', value: 1 }, ['op']],
      [{ field: 'order.amount', op: 'starts_with', value: '1' }, ['op']],
      [{ field: 'customer.segment', op: 'gt', value: 'a' }, ['op']],
      [{ field: 'customer.segment', op: 'exists' }, ['op']],
      [{ field: 'customer.id', op: 'in', value: 'a' }, ['value']],
      [{ field: 'customer.id', op: 'not_in', value: [] }, ['value']],
      [{ field: 'order.amount', op: 'in', value: [1, '2', 3, null] }, ['value.1', 'value.3']],
      [{ field: 'order.amount', op: 'gte', value: '5000' }, ['value']],
      [{ field: 'order.amount', op: 'gte' }, ['value']],
      [{ field: 'order.amount', op: 'eq', value: null }, ['value']],
      [{ field: 'customer.id', op: 'eq', value: 42 }, ['value']],
      [{ field: 'customer.id', op: 'exists', value: 'yes' }, ['value']],
      [{ field: 'order.currency', op: 'eq', value: 'EURO' }, ['value']],
      [{ field: 'now.day_of_week', op: 'eq', value: 8 }, ['value']],
      [{ field: 'now.day_of_week', op: 'in', value: [1, 2.5] }, ['value.1']],
      [{ field: 'now.time', op: 'gte', value: '25:00' }, ['value']],
      [{ field: 'now.time', op: 'gte', value: 900 }, ['value']],
      [{ field: 'customer.segment', op: 'eq', value: 'two words' }, ['value']],
      [{ field: 'customer.metadata.tier', op: 'eq', value: { a: 1 } }, ['value']],
      [{ field: 'customer.metadata.tier', op: 'gt', value: true }, ['value']],
      [{ field: 'customer.metadata.tier', op: 'starts_with', value: 1 }, ['value']],
      [{ field: 'customer.metadata.tier', op: 'in', value: [[1]] }, ['value.0']],
    ];
    for (const [when, paths] of cases) expect([when, faultPaths(when)]).toEqual([when, paths]);
  });

  it('refuses malformed item predicates', () => {
    expect(faultPaths({ items: { match: { colour: 'red' } } })).toEqual(['items.match']);
    expect(faultPaths({ items: {} })).toEqual(['items.match']);
    expect(faultPaths({ items: { match: {}, min_quantity: 0 } })).toEqual(['items.min_quantity']);
    expect(faultPaths({ items: { match: {}, min_quantity: 3, max_quantity: 2 } })).toEqual(['items.max_quantity']);
    expect(faultPaths({ items: { match: { categories: [] } } })).toEqual(['items.match.categories']);
    expect(faultPaths({ items: { match: { metadata: { brand: ['a'] } } } })).toEqual(['items.match.metadata.brand']);
  });

  it('refuses conditions nested too deep or too large without exhausting the stack', () => {
    let deep: unknown = { field: 'order.amount', op: 'gt', value: 1 };
    for (let i = 0; i < 50_000; i++) deep = { not: deep };
    const paths = faultPaths(deep);
    expect(paths).toHaveLength(1);
    expect(paths[0]).toBe(Array(32).fill('not').join('.'));
    const wide = {
      any: Array.from({ length: 40 }, () => ({ all: Array.from({ length: 50 }, () => ({ field: 'customer.id', op: 'exists' })) })),
    };
    expect(faults(conditionSchema, wide)[0]?.[1]).toMatch(/too large/);
    let ok: unknown = { field: 'order.amount', op: 'gt', value: 1 };
    for (let i = 0; i < 30; i++) ok = { not: ok };
    expect(faultPaths(ok)).toEqual([]);
  });

  it('refuses duplicate check names and malformed checks', () => {
    const when = { field: 'order.amount', op: 'gt', value: 1 };
    expect(
      faults(checksSchema, [
        { name: 'a', when },
        { name: 'b', when },
        { name: 'a', when },
      ]),
    ).toEqual([['2.name', 'another check has this name']]);
    expect(faults(checksSchema, [{ when }]).map(([p]) => p)).toEqual(['0.name']);
    expect(faults(checksSchema, [{ name: 'a' }]).map(([p]) => p)).toEqual(['0.when']);
    expect(faults(checksSchema, [{ name: 'a', when, message: '' }]).map(([p]) => p)).toEqual(['0.message']);
    expect(faults(checksSchema, [{ name: 'a', when, extra: 1 }]).map(([p]) => p)).toEqual(['0']);
    expect(
      faults(
        checksSchema,
        Array.from({ length: 51 }, (_, i) => ({ name: `c${i}`, when })),
      ).map(([p]) => p),
    ).toEqual(['']);
  });
});

describe('checks', () => {
  const ctx = (over: Partial<EvaluationInput> = {}) => evaluationContext({ ...base, ...over });
  const checks: Check[] = checksSchema.parse([
    { name: 'members', when: { field: 'customer.metadata.tier', op: 'eq', value: 'gold' }, message: 'Members only' },
    { name: 'no-gift-cards', when: { not: { items: { match: { categories: ['gift-cards'] } } } } },
  ]);

  it('answers the first check that fails, with its name and message', () => {
    const compiled = new CompiledChecks(checks);
    expect(compiled.firstFailure(ctx())).toEqual({ reason: 'rule_not_met', rule: { name: 'no-gift-cards' } });
    expect(compiled.firstFailure(ctx({ customer: { id: 'c', metadata: { tier: 'silver' } } }))).toEqual({
      reason: 'rule_not_met',
      rule: { name: 'members', message: 'Members only' },
    });
    const noGift = normalizeOrder(orderInputSchema.parse({ currency: 'EUR', amount: 100 }));
    expect(compiled.firstFailure(ctx({ order: noGift }))).toBeNull();
    expect(new CompiledChecks([]).firstFailure(ctx())).toBeNull();
  });

  it('runs the legacy min_amount as a check with its own reason and currency rule', () => {
    const compiled = new CompiledChecks([minAmountCheck({ min_amount: 16000, currency: 'EUR' }), ...checks]);
    expect(compiled.firstFailure(ctx({ order: normalizeOrder(orderInputSchema.parse({ currency: 'EUR', amount: 15999 })) }))).toEqual({
      reason: 'order_amount_too_low',
    });
    expect(compiled.firstFailure(ctx({ order: null }))).toEqual({ reason: 'order_amount_too_low' });
    expect(compiled.firstFailure(ctx())).toEqual({ reason: 'rule_not_met', rule: { name: 'no-gift-cards' } });
    const usd = normalizeOrder(orderInputSchema.parse({ currency: 'USD', amount: 99999 }));
    expect(() => compiled.firstFailure(ctx({ order: usd }))).toThrow(DomainError);
    try {
      compiled.firstFailure(ctx({ order: usd }));
    } catch (error) {
      expect(error).toMatchObject({ code: 'currency_mismatch', kind: 'unprocessable', details: { expected_currency: 'EUR' } });
    }
  });

  it('compiles each distinct rules once: the same object by identity, an equal one by its JSON', () => {
    const rules = { order: { min_amount: 100, currency: 'EUR' }, conditions: checks, discount: { type: 'percent' as const, value: 10 } };
    const compiled = compileCheckoutRules(rules);
    expect(compileCheckoutRules(rules)).toBe(compiled);
    expect(compileCheckoutRules(structuredClone(rules))).toBe(compiled);
    expect(compileCheckoutRules({ ...rules, discount: { type: 'percent', value: 11 } })).not.toBe(compiled);
    expect(compiled.checks.size).toBe(3);
    const keyed = compileCheckoutRules(structuredClone(rules), 'campaign-1@v1');
    expect(keyed).not.toBe(compiled);
    expect(compileCheckoutRules(structuredClone(rules), 'campaign-1@v1')).toBe(keyed);
    expect(compileCheckoutRules(structuredClone(rules), 'campaign-1@v2')).not.toBe(keyed);
  });
});

describe('customer overlay', () => {
  it('lays the request metadata over the stored one, key by key', () => {
    expect(overlayCustomer({ id: 'c', metadata: { tier: 'gold', city: 'Lyon' } }, { metadata: { tier: 'silver', age: 30 } })).toEqual({
      id: 'c',
      metadata: { tier: 'gold', age: 30, city: 'Lyon' },
    });
    expect(overlayCustomer({ id: 'c' }, { metadata: { tier: 'silver' } })).toEqual({ id: 'c', metadata: { tier: 'silver' } });
    expect(overlayCustomer({ id: 'c', metadata: { tier: 'gold' } }, null)).toEqual({ id: 'c', metadata: { tier: 'gold' } });
    expect(overlayCustomer({ id: 'c' }, undefined)).toEqual({ id: 'c', metadata: null });
    expect(overlayCustomer(undefined, { metadata: { tier: 'gold' } })).toBeNull();
  });
});

describe('schemas in the OpenAPI document', () => {
  it('convert to JSON Schema as the OpenAPI builder converts them', () => {
    const input = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
    const conditions = JSON.stringify(input(checksSchema));
    for (const key of ['"all"', '"any"', '"not"', '"field"', '"op"', '"items"', '"min_quantity"', '"starts_with"'])
      expect(conditions).toContain(key);
    expect(JSON.stringify(input(segmentDefinitionSchema))).toContain('"when"');
  });
});
