import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExpirySweep } from '../../src/expiry/sweep.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { foldAllStatDeltas } from '../../src/stats/rollup.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';

const DAY0 = new Date('2031-05-10T09:00:00Z');
const at = (day: number, hour = 0) => new Date(DAY0.getTime() + day * 86_400_000 + hour * 3_600_000);

describe('campaign stats', () => {
  let p: TestPlatform;
  const clock = new ManualClock(DAY0);
  let campaignId = '';
  let codes: string[] = [];

  beforeAll(async () => {
    p = await startTestPlatform({ clock, env: { EXPIRY_SWEEP_CRON: '0 0 0 1 1 *', GENERATION_CHUNK_SIZE: '1000', GUESS_LIMIT: '100000' } });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  /** What the stats must say, computed the slow way from the raw tables. */
  async function raw(timezone: string, from: string, to: string) {
    const db = p.platform.db;
    const one = async (sql: string, params: unknown[] = [campaignId]) => Number((await db.query(sql, params)).rows[0]?.n ?? 0);
    const discounts = await db.query<{ currency: string; amount: string }>(
      `select currency, sum(discount_amount) as amount from redemptions where campaign_id = $1 and status = 'succeeded'
       and discount_amount is not null group by currency having sum(discount_amount) <> 0`,
      [campaignId],
    );
    const perDay = await db.query<{ day: string; redemptions: number; rolled_back: number }>(
      `with d as (select generate_series($2::date, $3::date, interval '1 day')::date as day)
       select to_char(d.day, 'YYYY-MM-DD') as day,
         (select count(*)::int from redemptions r where r.campaign_id = $1 and r.status = 'succeeded' and (r.created_at at time zone $4)::date = d.day) as redemptions,
         (select count(*)::int from redemptions r where r.campaign_id = $1 and r.status = 'rolled_back' and (r.rolled_back_at at time zone $4)::date = d.day) as rolled_back
       from d order by d.day`,
      [campaignId, from, to, timezone],
    );
    const generated = await one('select count(*) as n from vouchers where campaign_id = $1');
    return {
      generated,
      published: await one('select count(*) as n from publications where campaign_id = $1'),
      redeemed_uses: await one(`select count(*) as n from redemptions where campaign_id = $1 and status = 'succeeded'`),
      redeemed_codes: await one(`select count(distinct voucher_id) as n from redemptions where campaign_id = $1 and status = 'succeeded'`),
      rolled_back: await one(`select count(*) as n from redemptions where campaign_id = $1 and status = 'rolled_back'`),
      expired: await one(`select count(*) as n from vouchers where campaign_id = $1 and status = 'expired'`),
      active: await one(`select count(*) as n from vouchers where campaign_id = $1 and status = 'active'`),
      discount_total: Object.fromEntries(discounts.rows.map((r) => [r.currency, Number(r.amount)])),
      per_day: perDay.rows.map((r) => ({ date: r.day, redemptions: r.redemptions, rolled_back: r.rolled_back })),
    };
  }

  async function expectStatsMatchRaw(timezone: string, from: string, to: string) {
    const res = await p.call(`/v1/campaigns/${campaignId}/stats?from=${from}&to=${to}&timezone=${encodeURIComponent(timezone)}`);
    expect(res.status).toBe(200);
    const truth = await raw(timezone, from, to);
    const s = res.body;
    expect({
      generated: s.generated,
      published: s.published,
      redeemed_uses: s.redeemed_uses,
      redeemed_codes: s.redeemed_codes,
      rolled_back: s.rolled_back,
      expired: s.expired,
      active: s.active,
      discount_total: s.discount_total,
      per_day: s.redemptions_per_day.map((d: { date: string; redemptions: number; rolled_back: number }) => ({
        date: d.date,
        redemptions: d.redemptions,
        rolled_back: d.rolled_back,
      })),
    }).toEqual(truth);
    expect(s.redemption_rate).toBeCloseTo(truth.redeemed_codes / truth.generated, 6);
    return s;
  }

  it('matches the raw tables after a mixed history (generation, publications, redemptions, rollbacks, expiry)', async () => {
    const created = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'Mixed', code_config: { length: 12 } } });
    campaignId = created.body.id;
    await p.platform.db.query(
      `update campaigns set rules = '{"redemption": {"per_code_limit": 3}, "discount": {"type": "amount", "value": 500, "currency": "EUR"}}'
       where id = $1`,
      [campaignId],
    );
    const gen = await p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 3000 } });
    expect(gen.status).toBe(202);
    await waitFor(async () => (await p.call(`/v1/generations/${gen.body.id}`)).body.status === 'completed');
    codes = (
      await p.platform.db.query<{ code: string }>('select code from vouchers where campaign_id = $1 order by id', [campaignId])
    ).rows.map((r) => r.code);
    // Some codes carry their own USD discount; some expire on day 3.
    await p.platform.db.query(
      `update vouchers set rules = '{"discount": {"type": "amount", "value": 300, "currency": "USD"}}' where code = any($1)`,
      [codes.slice(1000, 1040)],
    );
    await p.platform.db.query('update vouchers set expiration_date = $2 where code = any($1)', [codes.slice(2000, 2600), at(3)]);
    // Published codes (the distribution issue's table), written as its bulk path does.
    await p.platform.db.query(
      `insert into publications (campaign_id, voucher_id, code, customer_id)
       select campaign_id, id, code, 'cust-' || id from vouchers where code = any($1)`,
      [codes.slice(0, 700)],
    );

    const redeem = async (code: string, currency = 'EUR') => {
      const r = await p.call('/v1/redemptions', { method: 'POST', json: { code, order: { amount: 2_000, currency } } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id as string;
    };
    const ids: string[] = [];
    for (let day = 0; day < 5; day++) {
      clock.set(at(day, day * 3)); // across UTC midnights in some zones
      for (let i = day * 40; i < day * 40 + 30; i++) ids.push(await redeem(codes[i] as string));
      // Repeat uses of a few codes (per_code_limit 3): more uses than distinct codes.
      for (let i = day * 40; i < day * 40 + 5; i++) ids.push(await redeem(codes[i] as string));
    }
    clock.set(at(5, 2));
    for (let i = 1000; i < 1020; i++) ids.push(await redeem(codes[i] as string, 'USD'));
    // Roll back some single uses (the code leaves the distinct count) and some repeat uses (it stays).
    clock.set(at(6, 1));
    for (const id of [...ids.slice(10, 25), ...ids.slice(30, 33)]) {
      const r = await p.call(`/v1/redemptions/${id}/rollback`, { method: 'POST', json: { reason: 'refund' } });
      expect(r.status).toBe(200);
    }
    clock.set(at(7));
    const swept = await runExpirySweep(p.platform.db, { now: clock.now(), batchSize: 250 });
    expect(swept.vouchersExpired).toBe(600);

    // Exact before folding (rollup + pending deltas) and after, in UTC and in a zone with a day boundary shift.
    const before = await expectStatsMatchRaw('UTC', '2031-05-09', '2031-05-18');
    expect(before).toMatchObject({ generated: 3000, published: 700, expired: 600 });
    expect(before.redeemed_uses).toBeGreaterThan(before.redeemed_codes);
    await expectStatsMatchRaw('Pacific/Auckland', '2031-05-09', '2031-05-18');
    expect(await foldAllStatDeltas(p.platform.db)).toBeGreaterThan(0);
    const { rows } = await p.platform.db.query('select count(*)::int as n from campaign_stat_deltas');
    expect(rows[0]?.n).toBe(0);
    const after = await expectStatsMatchRaw('UTC', '2031-05-09', '2031-05-18');
    expect(after).toEqual(before);
    await expectStatsMatchRaw('America/Los_Angeles', '2031-05-09', '2031-05-18');
    expect(after.discount_total.USD).toBe(20 * 300);
  });

  it('defaults to the last 30 days in the campaign time zone and validates the range', async () => {
    const res = await p.call(`/v1/campaigns/${campaignId}/stats`);
    expect(res.status).toBe(200);
    expect(res.body.redemptions_per_day).toHaveLength(30);
    expect(res.body.range).toMatchObject({ to: '2031-05-17', timezone: 'UTC' });
    expect((await p.call(`/v1/campaigns/${campaignId}/stats?from=2031-05-10&to=2031-05-01`)).status).toBe(400);
    expect((await p.call(`/v1/campaigns/${campaignId}/stats?timezone=Mars/Olympus`)).body.code).toBe('validation_failed');
    expect((await p.call('/v1/campaigns/7d8c1b7e-0000-4000-8000-000000000000/stats')).status).toBe(404);
  });
});
