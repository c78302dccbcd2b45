import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { useTestPlatform } from '../support/platform.ts';
import * as examples from '../support/rules-examples.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

// Monday 2026-03-02 10:00 UTC.
const clock = new ManualClock('2026-03-02T10:00:00Z');

describe('checkout: orders with items, conditions, discount types, several codes', () => {
  // The race tests queue 200 transactions on a pool of 10: on a busy machine some wait longer than the default
  // 10 s for a connection (a 503), which is not what they test.
  const p = useTestPlatform({ clock, workers: false, env: { DATABASE_POOL_SIZE: '10', DATABASE_CONNECT_TIMEOUT_MS: '60000' } });

  const validate = (json: Record<string, unknown>) => p.call('/v1/validations', { method: 'POST', json });
  const redeem = (json: Record<string, unknown>, headers: Record<string, string> = {}) =>
    p.call('/v1/redemptions', { method: 'POST', json, headers });
  /** A campaign with these rules and one voucher per code (returns the codes, upper-cased as stored). */
  const codesFor = async (rules: Record<string, unknown>, n = 1, prefix = 'CO') => {
    const campaign = await createCampaign(p, { rules });
    const codes: string[] = [];
    for (let i = 0; i < n; i++) {
      const code = uniqueCode(prefix);
      await createVoucher(p, campaign, code);
      codes.push(code);
    }
    return { campaign, codes };
  };
  const count = async (sql: string, params: unknown[]) => Number((await p.platform.db.query<{ n: string }>(sql, params)).rows[0]?.n);

  it('prices an order with items line by line; order_amount_mismatch when amount and items disagree', async () => {
    const { codes } = await codesFor({ discount: { type: 'amount', value: 1000, currency: 'EUR' } });
    const code = codes[0] as string;
    const order = {
      id: 'o-1',
      currency: 'EUR',
      items: [
        { sku: 'JACKET', quantity: 1, price: 5990 },
        { sku: 'SCARF', quantity: 1, price: 1990 },
      ],
    };
    const res = await validate({ codes: [code], order });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      valid: true,
      codes: [{ code, valid: true, discount_amount: 1000 }],
      order: {
        id: 'o-1',
        currency: 'EUR',
        amount: 7980,
        discount_amount: 1000,
        total_amount: 6980,
        items: [examples.pricedLine('JACKET', 1, 5990, 751), examples.pricedLine('SCARF', 1, 1990, 249)],
      },
    });
    // The single-code form keeps its shape, and adds the priced order when the order has lines.
    const single = await validate({ code, order });
    expect(single.body).toMatchObject({ valid: true, code, discount: { type: 'amount', value: 1000, amount: 1000, currency: 'EUR' } });
    expect(single.body.order.items[0].discount_amount).toBe(751);
    const mismatch = await validate({ code, order: { ...order, amount: 100 } });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toMatchObject({ code: 'order_amount_mismatch', errors: [{ field: 'order.amount' }] });
    const both = await validate({ code, codes: [code] });
    expect(both.status).toBe(400);
    const twice = await validate({ codes: [code, code.toLowerCase()] });
    expect(twice.status).toBe(400);
    expect(twice.body.errors[0].field).toBe('codes.1');
  });

  it('rule_not_met with the rule name and message, over HTTP for validation and redemption; min_amount keeps its reason', async () => {
    const { codes } = await codesFor({
      order: { min_amount: 1000, currency: 'EUR' },
      conditions: [
        { name: 'over-50-eur', when: { field: 'order.amount', op: 'gt', value: 5000 }, message: 'For orders over 50 €.' },
        {
          name: 'no-gift-cards',
          when: { not: { items: { match: { categories: ['gift-cards'] } } } },
          message: 'Gift cards cannot be discounted.',
        },
      ],
      discount: { type: 'amount', value: 1000, currency: 'EUR' },
    });
    const code = codes[0] as string;
    const jacket = { sku: 'JACKET', categories: ['coats'], quantity: 1, price: 5990 };
    const giftCard = { sku: 'GIFT', categories: ['gift-cards'], quantity: 1, price: 2500 };
    expect((await validate({ code, order: { currency: 'EUR', amount: 500 } })).body).toEqual({
      valid: false,
      code,
      reason: 'order_amount_too_low',
    });
    expect((await validate({ code, order: { currency: 'EUR', amount: 3000 } })).body).toEqual({
      valid: false,
      code,
      reason: 'rule_not_met',
      rule: { name: 'over-50-eur', message: 'For orders over 50 €.' },
    });
    const withGift = await validate({ codes: [code], order: { currency: 'EUR', items: [jacket, giftCard] } });
    expect(withGift.body).toMatchObject({
      valid: false,
      codes: [{ code, valid: false, reason: 'rule_not_met', rule: { name: 'no-gift-cards' }, discount_amount: 0 }],
      order: { amount: 8490, discount_amount: 0, total_amount: 8490 },
    });
    const refused = await redeem({ code, order: { currency: 'EUR', items: [jacket, giftCard] } });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({
      code: 'rule_not_met',
      reason: 'rule_not_met',
      rule: { name: 'no-gift-cards', message: 'Gift cards cannot be discounted.' },
    });
    const ok = await redeem({ code, order: { id: 'order-77', currency: 'EUR', items: [jacket] } });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ order: { id: 'order-77', amount: 5990, currency: 'EUR' }, discount_amount: 1000 });
    expect(await count('select count(*) as n from redemptions where order_id = $1', ['order-77'])).toBe(1);
  });

  it('a changed campaign or voucher rule is seen by the next validation (rules compiled once per row version)', async () => {
    const { campaign, codes } = await codesFor({ redemption: { per_code_limit: null } }, 2);
    const [a, b] = codes as [string, string];
    const order = { currency: 'EUR', amount: 3000 };
    expect((await validate({ codes: [a, b], order })).body.valid).toBe(true);
    const rules = {
      redemption: { per_code_limit: null },
      conditions: [{ name: 'big', when: { field: 'order.amount', op: 'gt', value: 5000 } }],
    };
    expect((await p.call(`/v1/campaigns/${campaign}`, { method: 'PATCH', json: { rules } })).status).toBe(200);
    const after = await validate({ codes: [a, b], order });
    expect(after.body.codes.map((c: { rule?: { name: string } }) => c.rule?.name)).toEqual(['big', 'big']);
    // The voucher's own conditions replace the campaign's, for that voucher only.
    const own = { conditions: [{ name: 'small', when: { field: 'order.amount', op: 'lt', value: 4000 } }] };
    expect((await p.call(`/v1/vouchers/${a}`, { method: 'PATCH', json: { rules: own } })).status).toBe(200);
    const overridden = await validate({ codes: [a, b], order });
    expect(overridden.body.codes.map((c: { valid: boolean }) => c.valid)).toEqual([true, false]);
    expect((await redeem({ code: a, order })).status).toBe(201);
    expect((await validate({ code: a, order: { currency: 'EUR', amount: 4500 } })).body.rule).toEqual({ name: 'small' });
  });

  it('refuses conditions and discounts that do not make sense when saved, with the JSON path of the fault', async () => {
    const bad = await p.call('/v1/campaigns', {
      method: 'POST',
      json: { name: 'bad', rules: { conditions: [{ name: 'x', when: { field: 'customer.id', op: 'gt', value: 'a' } }] } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { field: 'rules.conditions.0.when.op', message: expect.stringContaining('gt does not apply to customer.id') },
    ]);
    const unknownField = await p.call('/v1/campaigns', {
      method: 'POST',
      json: { name: 'bad', rules: { conditions: [{ name: 'x', when: { all: [{ field: 'order.colour', op: 'eq', value: 1 }] } }] } },
    });
    expect(unknownField.body.errors[0].field).toBe('rules.conditions.0.when.all.0.field');
    const unknownSegment = await p.call('/v1/campaigns', {
      method: 'POST',
      json: {
        name: 'bad',
        rules: { conditions: [{ name: 'x', when: { field: 'customer.segment', op: 'eq', value: 'nobody-has-this' } }] },
      },
    });
    expect(unknownSegment.status).toBe(400);
    expect(unknownSegment.body.errors[0].field).toBe('rules.conditions.0.when.value');
    const badDiscount = await p.call('/v1/campaigns', {
      method: 'POST',
      json: { name: 'bad', rules: { discount: { type: 'unit', quantity: 0, match: {} } } },
    });
    expect(badDiscount.body.errors[0].field).toBe('rules.discount.quantity');
    const campaign = await createCampaign(p);
    const voucher = await p.call('/v1/vouchers', {
      method: 'POST',
      json: { campaign_id: campaign, rules: { conditions: [{ name: 'x', when: { field: 'now.time', op: 'gt', value: '25:00' } }] } },
    });
    expect(voucher.status).toBe(400);
    expect(voucher.body.errors[0].field).toBe('rules.conditions.0.when.value');
    // Stacking belongs to the campaign.
    const stacking = await p.call('/v1/vouchers', {
      method: 'POST',
      json: { campaign_id: campaign, rules: { stacking: { exclusive: true } } },
    });
    expect(stacking.status).toBe(400);
  });

  it('the promotions of rules.md: 20 % off shoes for members, buy two get the cheaper free, a welcome code with free shipping', async () => {
    expect(
      (
        await p.call('/v1/segments', {
          method: 'POST',
          json: examples.membersSegment,
        })
      ).status,
    ).toBe(201);
    const { codes: shoeCodes } = await codesFor(examples.shoes20Rules);
    const gold = await validate({ codes: shoeCodes, customer: { id: 'cust-42', metadata: { tier: 'gold' } }, order: examples.shoeOrder });
    expect(gold.body.order).toMatchObject({ amount: 24000, discount_amount: 3000, total_amount: 21000 });
    expect(gold.body.order.items.map((i: { discount_amount: number }) => i.discount_amount)).toEqual([1714, 1286, 0]);
    const silver = await validate({
      codes: shoeCodes,
      customer: { id: 'cust-43', metadata: { tier: 'silver' } },
      order: examples.shoeOrder,
    });
    expect(silver.body.codes[0]).toEqual({
      code: shoeCodes[0],
      valid: false,
      reason: 'rule_not_met',
      rule: { name: 'members-only', message: 'This code is for members.' },
      discount_amount: 0,
    });

    const { codes: teeCodes } = await codesFor(examples.tee2for1Rules);
    const tee = await validate({ codes: teeCodes, order: examples.teeOrder });
    expect(tee.body.order).toMatchObject({ amount: 4000, discount_amount: 1500, total_amount: 2500 });

    const welcome = await codesFor(examples.welcome10Rules, 2);
    const shipping = await codesFor(examples.shipFreeRules, 2);
    const spring = await codesFor(examples.spring15Rules);
    const three = [welcome.codes[0], shipping.codes[0], spring.codes[0]];
    const combined = await validate({ codes: three, customer: { id: 'cust-77' }, order: examples.dressOrder });
    expect(combined.body).toEqual({
      valid: false,
      codes: [
        { code: three[0], valid: true, discount_amount: 790 },
        { code: three[1], valid: true, discount_amount: 490 },
        { code: three[2], valid: false, reason: 'not_combinable', discount_amount: 0 },
      ],
      order: {
        id: 'order-2002',
        currency: 'EUR',
        amount: 8390,
        discount_amount: 1280,
        total_amount: 7110,
        items: [examples.pricedLine('DRESS', 1, 7900, 790), examples.pricedLine('shipping', 1, 490, 490)],
      },
    });
    // The welcome code is for a first order: once redeemed in its campaign, the customer's next order is refused.
    expect((await redeem({ codes: three.slice(0, 2), customer: { id: 'cust-77' }, order: examples.dressOrder })).status).toBe(201);
    const again = await validate({ codes: [welcome.codes[1], shipping.codes[1]], customer: { id: 'cust-77' }, order: examples.dressOrder });
    expect(again.body.codes[0]).toMatchObject({ valid: false, reason: 'rule_not_met', rule: { name: 'first-order' } });
  });

  it('an exclusive code does not combine: the higher priority applies, each other is not_combinable', async () => {
    const exclusive = await codesFor({ discount: { type: 'percent', value: 50 }, stacking: { exclusive: true, priority: 1 } });
    const plain = await codesFor({ discount: { type: 'amount', value: 100, currency: 'EUR' } });
    const order = { currency: 'EUR', amount: 1000 };
    const res = await validate({ codes: [plain.codes[0], exclusive.codes[0]], order });
    expect(res.body.codes).toEqual([
      { code: plain.codes[0], valid: false, reason: 'not_combinable', discount_amount: 0 },
      { code: exclusive.codes[0], valid: true, discount_amount: 500 },
    ]);
    const refused = await redeem({ codes: [plain.codes[0], exclusive.codes[0]], order });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'not_combinable', reason: 'not_combinable', codes: res.body.codes });
  });

  it('redeems a group in one transaction: mode all or nothing (422 with each reason), partial, events, rollback once, idempotency', async () => {
    const { campaign, codes } = await codesFor(
      { discount: { type: 'amount', value: 300, currency: 'EUR' }, redemption: { per_code_limit: 5 } },
      2,
    );
    const [a, b] = codes as [string, string];
    const order = { id: 'order-g1', currency: 'EUR', amount: 1000 };
    const none = await redeem({ codes: [a, 'NO-SUCH-CODE-X', b], order, customer: { id: 'g-1' } });
    expect(none.status).toBe(422);
    expect(none.body).toMatchObject({
      code: 'not_found',
      codes: [
        { code: a, valid: true },
        { code: 'NO-SUCH-CODE-X', valid: false, reason: 'not_found' },
        { code: b, valid: true },
      ],
    });
    expect((await p.call(`/v1/vouchers/${a}`)).body.redemption_count).toBe(0);

    const partial = await redeem({ codes: [a, 'NO-SUCH-CODE-X', b], mode: 'partial', order, customer: { id: 'g-1' } });
    expect(partial.status).toBe(201);
    expect(partial.body).toMatchObject({
      status: 'succeeded',
      mode: 'partial',
      valid: false,
      codes: [{ code: a, discount_amount: 300 }, { reason: 'not_found' }, { code: b, discount_amount: 300 }],
      order: { id: 'order-g1', amount: 1000, discount_amount: 600, total_amount: 400 },
    });
    expect(partial.body.redemptions.map((r: { code: string; group_id: string }) => [r.code, r.group_id])).toEqual([
      [a, partial.body.id],
      [b, partial.body.id],
    ]);

    const nothing = await redeem({ codes: ['NO-SUCH-CODE-Y', 'NO-SUCH-CODE-Z'], mode: 'partial', order });
    expect(nothing.status).toBe(422);
    expect(nothing.body.codes.map((c: { reason: string }) => c.reason)).toEqual(['not_found', 'not_found']);
    expect((await redeem({ code: a, mode: 'partial' })).status).toBe(400);

    const key = { 'Idempotency-Key': `group-${a}` };
    const all = await redeem({ codes: [b, a], order: { ...order, id: 'order-g2' } }, key);
    expect(all.status).toBe(201);
    expect(all.body.redemptions).toHaveLength(2);
    const replay = await redeem({ codes: [b, a], order: { ...order, id: 'order-g2' } }, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(all.body);
    expect((await p.call(`/v1/vouchers/${a}`)).body.redemption_count).toBe(2);
    const events = await p.platform.db.query<{ type: string; n: string }>(
      `select type, count(*) as n from outbox_events where type in ('voucher.redemption.succeeded', 'redemption.group.succeeded')
         and (data->>'campaign_id' = $1 or data->>'id' = any($2)) group by type order by type`,
      [campaign, [partial.body.id, all.body.id]],
    );
    expect(events.rows.map((r) => [r.type, Number(r.n)])).toEqual([
      ['redemption.group.succeeded', 2],
      ['voucher.redemption.succeeded', 4],
    ]);

    const back = await p.call(`/v1/redemptions/${all.body.id}/rollback`, { method: 'POST', json: { reason: 'order cancelled' } });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ id: all.body.id, status: 'rolled_back', rollback_reason: 'order cancelled' });
    expect(back.body.redemptions.map((r: { status: string }) => r.status)).toEqual(['rolled_back', 'rolled_back']);
    expect((await p.call(`/v1/vouchers/${a}`)).body.redemption_count).toBe(1);
    expect((await p.call(`/v1/vouchers/${b}`)).body.redemption_count).toBe(1);
    const twice = await Promise.all([1, 2].map(() => p.call(`/v1/redemptions/${all.body.id}/rollback`, { method: 'POST', json: {} })));
    expect(twice.map((r) => r.body.code)).toEqual(['already_rolled_back', 'already_rolled_back']);
    expect((await p.call(`/v1/vouchers/${a}`)).body.redemption_count).toBe(1);
    const lifecycle = await p.call(`/v1/vouchers/${a}/events`);
    expect(lifecycle.body.data.map((e: { type: string }) => e.type).filter((t: string) => t !== 'created')).toEqual([
      'redeemed',
      'redeemed',
      'rolled_back',
    ]);
  });

  it('200 parallel two-code redemptions over overlapping codes in opposite orders: no deadlock, exact counts', async () => {
    const { codes } = await codesFor({ redemption: { per_code_limit: null } }, 3, 'DL');
    const [a, b, c] = codes as [string, string, string];
    const pairs = [
      [a, b],
      [b, a],
      [b, c],
      [c, b],
      [a, c],
      [c, a],
    ];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => redeem({ codes: pairs[i % pairs.length], customer: { id: `dl-${i}` } })),
    );
    expect(results.filter((r) => r.status !== 201).map((r) => `${r.status} ${r.body?.code} ${r.body?.detail}`)).toEqual([]);
    const expected = { [a]: 0, [b]: 0, [c]: 0 };
    results.forEach((_, i) => {
      for (const code of pairs[i % pairs.length] as string[]) expected[code] = (expected[code] as number) + 1;
    });
    for (const code of codes) {
      expect((await p.call(`/v1/vouchers/${code}`)).body.redemption_count).toBe(expected[code]);
      expect(await count(`select count(*) as n from redemptions where code = $1 and status = 'succeeded'`, [code])).toBe(expected[code]);
    }
  });

  it('a single-use code in 100 parallel groups with one other code each: exactly one group gets it', async () => {
    const scarce = await codesFor({}, 1, 'ONE');
    const plenty = await codesFor({ redemption: { per_code_limit: null } }, 1, 'MANY');
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        redeem({ codes: i % 2 ? [scarce.codes[0], plenty.codes[0]] : [plenty.codes[0], scarce.codes[0]], customer: { id: `s-${i}` } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(results.filter((r) => r.status === 422).map((r) => r.body.code))).toEqual(new Set(['quantity_exceeded']));
    expect((await p.call(`/v1/vouchers/${plenty.codes[0]}`)).body.redemption_count).toBe(1);
  });
});

describe('guessing defence with several codes', () => {
  const p = useTestPlatform({ workers: false, env: { GUESS_LIMIT: '10' } });

  it('each unknown code of a request is one guess', async () => {
    const unknown = (n: number, round: number) => Array.from({ length: n }, (_, i) => `NOPE-${round}-${i}`);
    const call = (round: number) =>
      p.call('/v1/validations', { method: 'POST', json: { codes: unknown(5, round), customer: { id: 'guesser' } } });
    expect((await call(1)).status).toBe(200);
    expect((await call(2)).status).toBe(200);
    // Ten guesses in two requests: the eleventh is one too many.
    const third = await call(3);
    expect(third.status).toBe(429);
    expect(third.body.code).toBe('too_many_guesses');
    // Someone else, one code at a time, is not affected.
    expect((await p.call('/v1/validations', { method: 'POST', json: { code: 'NOPE-X', customer: { id: 'other' } } })).status).toBe(200);
  });
});
