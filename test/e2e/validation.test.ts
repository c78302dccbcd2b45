import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

// Monday 2026-03-02 15:00 UTC = 10:00 in New York (EST, UTC-5).
const MONDAY_10_NY = '2026-03-02T15:00:00Z';

describe('validation', () => {
  let p: TestPlatform;
  const clock = new ManualClock(MONDAY_10_NY);
  beforeAll(async () => {
    p = await startTestPlatform({ clock, workers: false });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  const validate = (json: Record<string, unknown>) => p.call('/v1/validations', { method: 'POST', json });

  it('answers valid with the discount an order would get, case-insensitively, changing nothing', async () => {
    const campaign = await createCampaign(p, { rules: { discount: { type: 'percent', value: 15, max_amount: 1000 } } });
    const code = uniqueCode('OK');
    await createVoucher(p, campaign, code);
    const res = await validate({ code: `  ${code.toLowerCase()} `, order: { amount: 4000, currency: 'eur' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      valid: true,
      code,
      discount: { type: 'percent', value: 15, max_amount: 1000, amount: 600, currency: 'EUR' },
      voucher: { code, campaign_id: campaign, redemption: { per_code_limit: 1, redeemed: 0, remaining: 1 } },
    });
    // Capped by max_amount.
    const big = await validate({ code, order: { amount: 100_000, currency: 'EUR' } });
    expect(big.body.discount.amount).toBe(1000);
    // Without an order, a percent discount has no amount yet.
    expect((await validate({ code })).body.discount.amount).toBeNull();
    const voucher = await p.call(`/v1/vouchers/${code}`);
    expect(voucher.body.redemption_count).toBe(0);
  });

  it('applies a fixed amount discount, never more than the order', async () => {
    const campaign = await createCampaign(p, { rules: { discount: { type: 'amount', value: 500, currency: 'USD' } } });
    const code = uniqueCode('AMT');
    await createVoucher(p, campaign, code);
    expect((await validate({ code, order: { amount: 2000, currency: 'USD' } })).body.discount.amount).toBe(500);
    expect((await validate({ code, order: { amount: 300, currency: 'USD' } })).body.discount.amount).toBe(300);
    const other = await validate({ code, order: { amount: 2000, currency: 'EUR' } });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('currency_mismatch');
  });

  it('not_found for an unknown code', async () => {
    const res = await validate({ code: 'NO-SUCH-CODE' });
    expect(res.body).toEqual({ valid: false, code: 'NO-SUCH-CODE', reason: 'not_found' });
  });

  it('not_active_yet before the start date, valid from it on', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('START');
    await createVoucher(p, campaign, code, { start_date: '2026-03-02T16:00:00Z' });
    expect((await validate({ code })).body.reason).toBe('not_active_yet');
    clock.set('2026-03-02T16:00:00Z');
    try {
      expect((await validate({ code })).body.valid).toBe(true);
    } finally {
      clock.set(MONDAY_10_NY);
    }
  });

  it('expired after the expiration date (voucher or campaign), and when the sweep marked it expired', async () => {
    const campaign = await createCampaign(p, { expiration_date: '2026-03-10T00:00:00Z' });
    const own = uniqueCode('EXP');
    await createVoucher(p, campaign, own, { expiration_date: '2026-03-02T15:00:00Z' });
    expect((await validate({ code: own })).body.reason).toBe('expired');
    const inherits = uniqueCode('EXP');
    await createVoucher(p, campaign, inherits);
    expect((await validate({ code: inherits })).body.valid).toBe(true);
    clock.set('2026-03-10T00:00:00Z');
    try {
      expect((await validate({ code: inherits })).body.reason).toBe('expired');
    } finally {
      clock.set(MONDAY_10_NY);
    }
    const swept = uniqueCode('EXP');
    await createVoucher(p, campaign, swept);
    await p.platform.db.query(`update vouchers set status = 'expired' where code = $1`, [swept]);
    expect((await validate({ code: swept })).body.reason).toBe('expired');
  });

  it('disabled while the voucher is disabled; campaign_inactive while the campaign is', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('DIS');
    await createVoucher(p, campaign, code);
    await p.call(`/v1/vouchers/${code}/disable`, { method: 'POST' });
    expect((await validate({ code })).body.reason).toBe('disabled');
    await p.call(`/v1/vouchers/${code}/enable`, { method: 'POST' });
    expect((await validate({ code })).body.valid).toBe(true);
    const off = await p.call(`/v1/campaigns/${campaign}`, { method: 'PATCH', json: { active: false } });
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect((await validate({ code })).body.reason).toBe('campaign_inactive');
    await p.call(`/v1/campaigns/${campaign}`, { method: 'PATCH', json: { active: true } });
    expect((await validate({ code })).body.valid).toBe(true);
  });

  it('outside_validity_window by weekday and hour in the campaign time zone', async () => {
    const campaign = await createCampaign(p, {
      timezone: 'America/New_York',
      rules: { validity_windows: [{ days_of_week: [1, 2, 3, 4, 5], start_time: '09:00', end_time: '17:00' }] },
    });
    const code = uniqueCode('WIN');
    await createVoucher(p, campaign, code);
    try {
      expect((await validate({ code })).body.valid).toBe(true); // Monday 10:00 New York
      clock.set('2026-03-02T13:59:00Z'); // Monday 08:59 New York (14:59 UTC would be inside in UTC terms)
      expect((await validate({ code })).body.reason).toBe('outside_validity_window');
      clock.set('2026-03-02T22:00:00Z'); // Monday 17:00 New York: the end is exclusive
      expect((await validate({ code })).body.reason).toBe('outside_validity_window');
      clock.set('2026-03-07T15:00:00Z'); // Saturday 10:00 New York
      expect((await validate({ code })).body.reason).toBe('outside_validity_window');
      clock.set('2026-03-10T03:30:00Z'); // Monday 23:30 New York, but Tuesday in UTC
      expect((await validate({ code })).body.reason).toBe('outside_validity_window');
      clock.set('2026-03-10T14:30:00Z'); // Tuesday 10:30 New York after the DST switch (EDT, UTC-4)
      expect((await validate({ code })).body.valid).toBe(true);
    } finally {
      clock.set(MONDAY_10_NY);
    }
  });

  it('overnight windows belong to the day they start on', async () => {
    const campaign = await createCampaign(p, {
      timezone: 'Europe/Berlin',
      rules: { validity_windows: [{ days_of_week: [5], start_time: '22:00', end_time: '02:00' }] },
    });
    const code = uniqueCode('NIGHT');
    await createVoucher(p, campaign, code);
    try {
      clock.set('2026-03-06T21:30:00Z'); // Friday 22:30 Berlin
      expect((await validate({ code })).body.valid).toBe(true);
      clock.set('2026-03-07T00:30:00Z'); // Saturday 01:30 Berlin, still Friday night
      expect((await validate({ code })).body.valid).toBe(true);
      clock.set('2026-03-07T21:30:00Z'); // Saturday 22:30 Berlin
      expect((await validate({ code })).body.reason).toBe('outside_validity_window');
    } finally {
      clock.set(MONDAY_10_NY);
    }
  });

  it('quantity_exceeded once a code is used up; a voucher override raises the limit', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('QTY');
    await createVoucher(p, campaign, code);
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code } })).status).toBe(201);
    expect((await validate({ code })).body.reason).toBe('quantity_exceeded');
    const patched = await p.call(`/v1/vouchers/${code}`, { method: 'PATCH', json: { rules: { redemption: { per_code_limit: 2 } } } });
    expect(patched.status).toBe(200);
    expect((await validate({ code })).body.valid).toBe(true);
  });

  it('customer_required and customer_limit_exceeded for per-customer limits', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: null, per_customer_limit: 1 } } });
    const code = uniqueCode('CUST');
    await createVoucher(p, campaign, code);
    expect((await validate({ code })).body.reason).toBe('customer_required');
    expect((await validate({ code, customer: { id: 'c-1' } })).body.valid).toBe(true);
    await p.call('/v1/redemptions', { method: 'POST', json: { code, customer: { id: 'c-1' } } });
    expect((await validate({ code, customer: { id: 'c-1' } })).body.reason).toBe('customer_limit_exceeded');
    expect((await validate({ code, customer: { id: 'c-2' } })).body.valid).toBe(true);
  });

  it('customer_limit_exceeded across a campaign ("one code per customer")', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_customer_campaign_limit: 1 } } });
    const [a, b] = [uniqueCode('ONE'), uniqueCode('ONE')];
    await createVoucher(p, campaign, a);
    await createVoucher(p, campaign, b);
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: a, customer: { id: 'shopper' } } })).status).toBe(201);
    expect((await validate({ code: b, customer: { id: 'shopper' } })).body.reason).toBe('customer_limit_exceeded');
    expect((await validate({ code: b, customer: { id: 'someone-else' } })).body.valid).toBe(true);
  });

  it('order_amount_too_low below the minimum or without an order', async () => {
    const campaign = await createCampaign(p, { rules: { order: { min_amount: 5000, currency: 'EUR' } } });
    const code = uniqueCode('MIN');
    await createVoucher(p, campaign, code);
    expect((await validate({ code })).body.reason).toBe('order_amount_too_low');
    expect((await validate({ code, order: { amount: 4999, currency: 'EUR' } })).body.reason).toBe('order_amount_too_low');
    expect((await validate({ code, order: { amount: 5000, currency: 'EUR' } })).body.valid).toBe(true);
  });

  it('answers validations that arrive together (one batched lookup) each for its own code and customer', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: null, per_customer_limit: 1 } } });
    const [shared, off] = [uniqueCode('BATCH'), uniqueCode('BATCH')];
    await createVoucher(p, campaign, shared);
    await createVoucher(p, campaign, off, { active: false });
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: shared, customer: { id: 'used-it' } } })).status).toBe(201);
    const requests = Array.from({ length: 60 }, (_, i) => {
      switch (i % 5) {
        case 0:
          return { code: shared, customer: { id: 'used-it' } };
        case 1:
          return { code: ` ${shared.toLowerCase()}`, customer: { id: `new-${i}` } };
        case 2:
          return { code: `${shared}-NOPE-${i}` };
        case 3:
          return { code: off, customer: { id: `new-${i}` } };
        default:
          return { code: shared };
      }
    });
    const together = await Promise.all(requests.map((json) => validate(json)));
    const alone: unknown[] = [];
    for (const json of requests) alone.push((await validate(json)).body);
    expect(together.map((r) => r.body)).toEqual(alone);
    expect(together.map((r) => r.body.reason ?? 'valid').slice(0, 5)).toEqual([
      'customer_limit_exceeded',
      'valid',
      'not_found',
      'disabled',
      'customer_required',
    ]);
  });

  it('rejects malformed requests and unknown time zones with field errors', async () => {
    const bad = await validate({ code: '', order: { amount: -1, currency: 'EURO' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['code', 'order.amount', 'order.currency']);
    const tz = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'x', timezone: 'Mars/Olympus' } });
    expect(tz.status).toBe(400);
    expect(tz.body.errors[0].field).toBe('timezone');
  });
});
