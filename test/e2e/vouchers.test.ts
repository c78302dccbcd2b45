import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExpirySweep, SWEEP_ACTOR } from '../../src/expiry/sweep.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

describe('standalone vouchers and the lifecycle log', () => {
  let p: TestPlatform;
  const clock = new ManualClock('2026-05-04T12:00:00Z');
  beforeAll(async () => {
    p = await startTestPlatform({ clock, workers: false });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('creates a voucher with a custom code (normalized) and refuses a taken one with 409', async () => {
    const campaign = await createCampaign(p);
    const res = await p.call('/v1/vouchers', {
      method: 'POST',
      json: { campaign_id: campaign, code: ' summer-25 ', metadata: { channel: 'partner' }, rules: { redemption: { per_code_limit: 3 } } },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/v1/vouchers/SUMMER-25');
    expect(res.body).toMatchObject({
      code: 'SUMMER-25',
      campaign_id: campaign,
      generation_id: null,
      active: true,
      redemption_count: 0,
      rules: { redemption: { per_code_limit: 3 } },
      metadata: { channel: 'partner' },
      created_at: '2026-05-04T12:00:00.000Z',
    });
    const taken = await p.call('/v1/vouchers', { method: 'POST', json: { campaign_id: campaign, code: 'Summer-25' } });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('voucher_code_taken');
    const unknown = await p.call('/v1/vouchers', {
      method: 'POST',
      json: { campaign_id: '00000000-0000-0000-0000-000000000000', code: 'X1' },
    });
    expect(unknown.status).toBe(404);
    expect((await p.call(`/v1/campaigns/${campaign}`)).body.issued_count).toBe(1);
  });

  it("draws a code from the campaign's code config when none is given", async () => {
    const campaign = await createCampaign(p, { code_config: { pattern: 'GIFT-####-####', charset: 'numbers' } });
    const res = await p.call('/v1/vouchers', { method: 'POST', json: { campaign_id: campaign } });
    expect(res.status).toBe(201);
    expect(res.body.code).toMatch(/^GIFT-\d{4}-\d{4}$/);
  });

  it('filters vouchers by metadata containment, campaign and state', async () => {
    const campaign = await createCampaign(p);
    const a = await createVoucher(p, campaign, uniqueCode('META'), { metadata: { channel: 'partner', partner: 'acme' } });
    const b = await createVoucher(p, campaign, uniqueCode('META'), { metadata: { channel: 'partner', partner: 'globex' } });
    await createVoucher(p, campaign, uniqueCode('META'), { metadata: { channel: 'newsletter' }, active: false });
    const filter = encodeURIComponent(JSON.stringify({ channel: 'partner' }));
    const partner = await p.call(`/v1/vouchers?campaign_id=${campaign}&metadata=${filter}`);
    expect(partner.body.data.map((v: { code: string }) => v.code)).toEqual([a.code, b.code]);
    const acme = await p.call(`/v1/vouchers?metadata=${encodeURIComponent(JSON.stringify({ partner: 'acme' }))}`);
    expect(acme.body.data.map((v: { code: string }) => v.code)).toEqual([a.code]);
    const inactive = await p.call(`/v1/vouchers?campaign_id=${campaign}&active=false`);
    expect(inactive.body.data).toHaveLength(1);
    const paged = await p.call(`/v1/vouchers?campaign_id=${campaign}&limit=2`);
    expect(paged.body.data).toHaveLength(2);
    const rest = await p.call(`/v1/vouchers?campaign_id=${campaign}&limit=2&cursor=${paged.body.next_cursor}`);
    expect(rest.body.data).toHaveLength(1);
    expect(rest.body.next_cursor).toBeNull();
    expect((await p.call('/v1/vouchers?metadata=not-json')).status).toBe(400);
  });

  it('disable and enable are idempotent and emit one event per real change', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('TOGGLE');
    await createVoucher(p, campaign, code);
    const off = await p.call(`/v1/vouchers/${code.toLowerCase()}/disable`, { method: 'POST', json: { reason: 'fraud review' } });
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect((await p.call(`/v1/vouchers/${code}/disable`, { method: 'POST' })).body.active).toBe(false);
    expect((await p.call(`/v1/vouchers/${code}/enable`, { method: 'POST' })).body.active).toBe(true);
    expect((await p.call('/v1/vouchers/NO-SUCH/disable', { method: 'POST' })).status).toBe(404);
    const { rows } = await p.platform.db.query<{ type: string }>(
      `select type from outbox_events where data->>'code' = $1 and type in ('voucher.disabled', 'voucher.enabled') order by seq`,
      [code],
    );
    expect(rows.map((r) => r.type)).toEqual(['voucher.disabled', 'voucher.enabled']);
  });

  it("records a voucher's whole life in its append-only timeline, with actor and details", async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('LIFE');
    await createVoucher(p, campaign, code);
    clock.advance(60_000);
    await p.call(`/v1/vouchers/${code}`, {
      method: 'PATCH',
      json: { rules: { redemption: { per_code_limit: 2 } }, expiration_date: '2026-12-31T00:00:00Z' },
    });
    await p.call(`/v1/vouchers/${code}`, { method: 'PATCH', json: { metadata: { note: 'vip' } } });
    await p.call(`/v1/vouchers/${code}/disable`, { method: 'POST', json: { reason: 'paused' } });
    await p.call(`/v1/vouchers/${code}/enable`, { method: 'POST' });
    const redeemed = await p.call('/v1/redemptions', { method: 'POST', json: { code, customer: { id: 'life-1' } } });
    await p.call(`/v1/redemptions/${redeemed.body.id}/rollback`, { method: 'POST', json: { reason: 'returned' } });
    // Past its expiration date the expiry sweep (issue 6's use-case) marks it expired, logged the same way.
    clock.set('2027-01-01T00:00:00Z');
    try {
      await runExpirySweep(p.platform.db, { now: clock.now(), batchSize: 100 });
      expect((await p.call('/v1/validations', { method: 'POST', json: { code } })).body.reason).toBe('expired');
    } finally {
      clock.set('2026-05-04T12:05:00Z');
    }
    const timeline = await p.call(`/v1/vouchers/${code}/events`);
    expect(timeline.status).toBe(200);
    const events = timeline.body.data;
    expect(events.map((e: { type: string }) => e.type)).toEqual([
      'created',
      'rules_changed',
      'metadata_changed',
      'disabled',
      'enabled',
      'redeemed',
      'rolled_back',
      'expired',
    ]);
    const keyId = (await p.platform.db.query<{ id: string }>('select id from api_keys limit 1')).rows[0]?.id;
    expect(new Set(events.slice(0, -1).map((e: { actor: string }) => e.actor))).toEqual(new Set([keyId]));
    expect(events.at(-1).actor).toBe(SWEEP_ACTOR);
    expect(events[1].details).toEqual({
      rules: { from: {}, to: { redemption: { per_code_limit: 2 } } },
      expiration_date: { from: null, to: '2026-12-31T00:00:00.000Z' },
    });
    expect(events[3].details).toEqual({ reason: 'paused' });
    expect(events[5].details).toMatchObject({ redemption_id: redeemed.body.id, customer_id: 'life-1', redemption_count: 1 });
    expect(events[6].details).toMatchObject({ redemption_id: redeemed.body.id, reason: 'returned', redemption_count: 0 });
    expect(events.every((e: { created_at: string }) => typeof e.created_at === 'string')).toBe(true);
    // Paginated oldest first.
    const first = await p.call(`/v1/vouchers/${code}/events?limit=3`);
    const next = await p.call(`/v1/vouchers/${code}/events?limit=10&cursor=${first.body.next_cursor}`);
    expect([...first.body.data, ...next.body.data]).toEqual(events);
    // Nothing in the log can be changed or removed.
    await expect(
      p.platform.db.query(`update voucher_events set type = 'x' where voucher_id = (select id from vouchers where code = $1)`, [code]),
    ).rejects.toThrow(/append-only/);
    await expect(
      p.platform.db.query(`delete from voucher_events where voucher_id = (select id from vouchers where code = $1)`, [code]),
    ).rejects.toThrow(/append-only/);
    expect((await p.call('/v1/vouchers/NO-SUCH/events')).status).toBe(404);
  });

  it('validates PATCH bodies and campaign rule updates', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('PATCH');
    await createVoucher(p, campaign, code);
    expect((await p.call(`/v1/vouchers/${code}`, { method: 'PATCH', json: {} })).status).toBe(400);
    const bad = await p.call(`/v1/vouchers/${code}`, { method: 'PATCH', json: { rules: { discount: { type: 'percent', value: 150 } } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('rules.discount.value');
    const patched = await p.call(`/v1/campaigns/${campaign}`, {
      method: 'PATCH',
      json: { rules: { discount: { type: 'amount', value: 700, currency: 'eur' } }, timezone: 'Asia/Tokyo' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ timezone: 'Asia/Tokyo', rules: { discount: { type: 'amount', value: 700, currency: 'EUR' } } });
    const valid = await p.call('/v1/validations', { method: 'POST', json: { code, order: { amount: 5000, currency: 'EUR' } } });
    expect(valid.body.discount.amount).toBe(700);
    expect((await p.call('/v1/campaigns/00000000-0000-0000-0000-000000000000', { method: 'PATCH', json: { active: false } })).status).toBe(
      404,
    );
  });
});
