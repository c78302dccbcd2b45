import { describe, expect, it } from 'vitest';
import { useTestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

describe('redemption', () => {
  // One customer races itself here with 200 parallel lookups under the default guess limit: legitimate lookups
  // never use up guesses (the guessing defence has its own test file).
  const p = useTestPlatform({ workers: false, env: { DATABASE_POOL_SIZE: '10' } });

  const redeem = (json: Record<string, unknown>, headers: Record<string, string> = {}) =>
    p.call('/v1/redemptions', { method: 'POST', json, headers });
  const parallel = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));
  const statuses = (results: { status: number }[]) =>
    results.reduce<Record<number, number>>((acc, r) => {
      acc[r.status] = (acc[r.status] ?? 0) + 1;
      return acc;
    }, {});
  const count = async (sql: string, params: unknown[]) => Number((await p.platform.db.query<{ n: string }>(sql, params)).rows[0]?.n);

  it('redeems once and answers 201 with the discount; a second try is 422 quantity_exceeded problem+json', async () => {
    const campaign = await createCampaign(p, { rules: { discount: { type: 'percent', value: 10 } } });
    const code = uniqueCode('ONCE');
    await createVoucher(p, campaign, code);
    const first = await redeem({
      code: code.toLowerCase(),
      customer: { id: 'c1', email: 'c1@example.com' },
      order: { amount: 2550, currency: 'EUR' },
      metadata: { order_id: 'o-1' },
    });
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`/v1/redemptions/${first.body.id}`);
    expect(first.body).toMatchObject({
      status: 'succeeded',
      code,
      campaign_id: campaign,
      customer: { id: 'c1', email: 'c1@example.com' },
      order: { amount: 2550, currency: 'EUR' },
      discount: { type: 'percent', value: 10, amount: 255, currency: 'EUR' },
      discount_amount: 255,
      currency: 'EUR',
      metadata: { order_id: 'o-1' },
      rolled_back_at: null,
    });
    const second = await redeem({ code });
    expect(second.status).toBe(422);
    expect(second.headers.get('content-type')).toContain('application/problem+json');
    expect(second.body).toMatchObject({ status: 422, code: 'quantity_exceeded', reason: 'quantity_exceeded' });
    expect((await redeem({ code: 'NOPE-NOPE' })).body.code).toBe('not_found');
    expect((await p.call(`/v1/redemptions/${first.body.id}`)).body).toEqual(first.body);
    expect((await p.call('/v1/redemptions/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await p.call('/v1/redemptions/not-a-uuid')).status).toBe(404);
  });

  it('200 simultaneous redemptions of a single-use code: exactly 1 succeeds', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('RACE1');
    await createVoucher(p, campaign, code);
    const results = await parallel(200, (i) => redeem({ code, customer: { id: `c-${i}` } }));
    expect(statuses(results)).toEqual({ 201: 1, 422: 199 });
    expect(new Set(results.filter((r) => r.status === 422).map((r) => r.body.code))).toEqual(new Set(['quantity_exceeded']));
    expect((await p.call(`/v1/vouchers/${code}`)).body.redemption_count).toBe(1);
    expect(await count(`select count(*) as n from redemptions where code = $1`, [code])).toBe(1);
  });

  it('200 simultaneous redemptions of a 5-use code: exactly 5 succeed', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: 5 } } });
    const code = uniqueCode('RACE5');
    await createVoucher(p, campaign, code);
    const results = await parallel(200, () => redeem({ code }));
    expect(statuses(results)).toEqual({ 201: 5, 422: 195 });
    expect((await p.call(`/v1/vouchers/${code}`)).body.redemption_count).toBe(5);
    expect(await count(`select count(*) as n from redemptions where code = $1 and status = 'succeeded'`, [code])).toBe(5);
  });

  it('per-customer limit on one code holds under 100 simultaneous requests', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: null, per_customer_limit: 2 } } });
    const code = uniqueCode('PERCUST');
    await createVoucher(p, campaign, code);
    const results = await parallel(100, (i) => redeem({ code, customer: { id: i % 2 === 0 ? 'alice' : 'bob' } }));
    expect(statuses(results)).toEqual({ 201: 4, 422: 96 });
    expect(new Set(results.filter((r) => r.status === 422).map((r) => r.body.code))).toEqual(new Set(['customer_limit_exceeded']));
    expect(await count(`select count(*) as n from redemptions where code = $1 and customer_id = 'alice'`, [code])).toBe(2);
  });

  it('per_customer_campaign_limit holds across 20 codes raced by one customer', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_customer_campaign_limit: 1 } } });
    const codes = await parallel(20, async () => {
      const code = uniqueCode('CAMP');
      await createVoucher(p, campaign, code);
      return code;
    });
    const results = await parallel(100, (i) => redeem({ code: codes[i % 20], customer: { id: 'greedy' } }));
    expect(statuses(results)).toEqual({ 201: 1, 422: 99 });
    expect(new Set(results.filter((r) => r.status === 422).map((r) => r.body.code))).toEqual(
      new Set(['customer_limit_exceeded', 'quantity_exceeded']),
    );
    expect(await count(`select count(*) as n from redemptions where campaign_id = $1 and status = 'succeeded'`, [campaign])).toBe(1);
    // Two codes the race left unused: another customer may still redeem one; without a customer, it is refused.
    const won = results.find((r) => r.status === 201)?.body.code;
    const [free, other] = codes.filter((c) => c !== won);
    expect((await redeem({ code: free, customer: { id: 'modest' } })).status).toBe(201);
    expect((await redeem({ code: other })).body.code).toBe('customer_required');
  });

  it('Idempotency-Key: parallel retries replay the first response and redeem once; another body is 422', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: 10 } } });
    const code = uniqueCode('IDEM');
    await createVoucher(p, campaign, code);
    const body = { code, customer: { id: 'c-idem' }, order: { amount: 1000, currency: 'EUR' } };
    const results = await parallel(20, () => redeem(body, { 'Idempotency-Key': 'checkout-42' }));
    expect(statuses(results)).toEqual({ 201: 20 });
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'false')).toHaveLength(1);
    // Same body in another key order and letter case of the code: still the same request.
    const reordered = await redeem(
      { order: { currency: 'EUR', amount: 1000 }, customer: { id: 'c-idem' }, code: ` ${code.toLowerCase()}` },
      {
        'Idempotency-Key': 'checkout-42',
      },
    );
    expect(reordered.status).toBe(201);
    expect(reordered.body).toEqual(results[0]?.body);
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
    const reused = await redeem({ ...body, order: { amount: 2000, currency: 'EUR' } }, { 'Idempotency-Key': 'checkout-42' });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('idempotency_key_reused');
    expect((await p.call(`/v1/vouchers/${code}`)).body.redemption_count).toBe(1);
    // A refusal is replayed as the same refusal, even once the code could be redeemed.
    const once = uniqueCode('IDEM');
    await createVoucher(p, campaign, once, { active: false });
    const refused = await redeem({ code: once }, { 'Idempotency-Key': 'k-refused' });
    expect(refused.body.code).toBe('disabled');
    await p.call(`/v1/vouchers/${once}/enable`, { method: 'POST' });
    const replay = await redeem({ code: once }, { 'Idempotency-Key': 'k-refused' });
    expect(replay.status).toBe(422);
    expect(replay.body).toEqual(refused.body);
    expect((await redeem({ code: once }, { 'Idempotency-Key': 'k-fresh' })).status).toBe(201);
  });

  it('100 concurrent rollbacks of one redemption: one succeeds, the rest are 409 already_rolled_back', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('RB');
    await createVoucher(p, campaign, code);
    const redemption = await redeem({ code, customer: { id: 'rb' } });
    expect(redemption.status).toBe(201);
    const results = await parallel(100, () =>
      p.call(`/v1/redemptions/${redemption.body.id}/rollback`, { method: 'POST', json: { reason: 'order cancelled' } }),
    );
    expect(statuses(results)).toEqual({ 200: 1, 409: 99 });
    expect(results.find((r) => r.status === 409)?.body.code).toBe('already_rolled_back');
    const rolledBack = results.find((r) => r.status === 200)?.body;
    expect(rolledBack).toMatchObject({ id: redemption.body.id, status: 'rolled_back', rollback_reason: 'order cancelled' });
    expect(rolledBack.rolled_back_at).toEqual(expect.any(String));
    expect((await p.call(`/v1/vouchers/${code}`)).body.redemption_count).toBe(0);
    // The use is back: the single-use code redeems again.
    expect((await redeem({ code })).status).toBe(201);
    expect((await p.call('/v1/redemptions/00000000-0000-0000-0000-000000000000/rollback', { method: 'POST' })).status).toBe(404);
  });

  it('writes succeeded, failed and rolled_back events to the outbox in the same transaction', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('OUT');
    await createVoucher(p, campaign, code);
    const ok = await redeem({ code, customer: { id: 'o1' } });
    await redeem({ code, customer: { id: 'o2' } });
    await p.call(`/v1/redemptions/${ok.body.id}/rollback`, { method: 'POST' });
    await redeem({ code: 'UNKNOWN-CODE-X' });
    const { rows } = await p.platform.db.query<{ type: string; data: Record<string, unknown> }>(
      `select type, data from outbox_events where data->>'code' = $1 and type like 'voucher.redemption.%' order by seq`,
      [code],
    );
    expect(rows.map((r) => r.type)).toEqual([
      'voucher.redemption.succeeded',
      'voucher.redemption.failed',
      'voucher.redemption.rolled_back',
    ]);
    expect(rows[0]?.data).toMatchObject({ id: ok.body.id, campaign_id: campaign, customer: { id: 'o1' } });
    expect(rows[1]?.data).toMatchObject({ reason: 'quantity_exceeded', customer_id: 'o2', campaign_id: campaign });
    // Guesses leave no outbox trace.
    expect(await count(`select count(*) as n from outbox_events where data->>'code' = 'UNKNOWN-CODE-X'`, [])).toBe(0);
  });

  it('lists redemptions by code and customer, newest first, with cursor pagination', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: null } } });
    const code = uniqueCode('LIST');
    await createVoucher(p, campaign, code);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await redeem({ code, customer: { id: i < 3 ? 'lister' : 'other' } })).body.id);
    const page1 = await p.call(`/v1/redemptions?code=${code.toLowerCase()}&limit=2`);
    expect(page1.body.data.map((r: { id: string }) => r.id)).toEqual([ids[4], ids[3]]);
    const page2 = await p.call(`/v1/redemptions?code=${code}&limit=2&cursor=${page1.body.next_cursor}`);
    const page3 = await p.call(`/v1/redemptions?code=${code}&limit=2&cursor=${page2.body.next_cursor}`);
    expect([...page2.body.data, ...page3.body.data].map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(page3.body.next_cursor).toBeNull();
    const mine = await p.call(`/v1/redemptions?code=${code}&customer_id=lister`);
    expect(mine.body.data.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect((await p.call('/v1/redemptions?cursor=garbage')).body.code).toBe('invalid_cursor');
  });
});
