import { describe, expect, it } from 'vitest';
import { reconcileLostWork } from '../../src/queues/reconcile.ts';
import { expireReservations } from '../../src/reservations/reservations.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { ConsoleClient, pageText } from '../support/console.ts';
import { type TestPlatform, useTestPlatform, waitFor } from '../support/platform.ts';
import { createCampaign, seedCodes, uniqueCode } from '../support/vouchers.ts';

const clock = new ManualClock('2026-03-02T10:00:00Z');

const seed = (p: TestPlatform, campaignId: string, n: number) => seedCodes(p, campaignId, n, uniqueCode('R'));

async function voucherCounts(p: TestPlatform, code: string) {
  const { rows } = await p.platform.db.query<{ redemption_count: number; held_count: number }>(
    'select redemption_count, held_count from vouchers where code = $1',
    [code],
  );
  return rows[0];
}

describe('reservations', () => {
  const p = useTestPlatform({ clock, workers: false, env: { DATABASE_POOL_SIZE: '20' } });

  const reserve = (json: Record<string, unknown>, headers: Record<string, string> = {}) =>
    p.call('/v1/reservations', { method: 'POST', json, headers });
  const order = (id: string) => ({ id, amount: 5000, currency: 'EUR' });

  it('200 parallel reservations of a single-use code hold it once; validation says reserved, or valid to its holder; confirm once', async () => {
    const campaign = await createCampaign(p, { rules: { discount: { type: 'amount', value: 500, currency: 'EUR' } } });
    const [code] = await seed(p, campaign, 1);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => reserve({ code, customer: { id: `c${i}` }, order: order(`o-${i}`) })),
    );
    const held = results.filter((r) => r.status === 201);
    expect(held).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 201)) {
      expect(r.status).toBe(422);
      expect(r.body.code).toBe('quantity_exceeded');
    }
    const reservation = held[0]?.body;
    expect(reservation).toMatchObject({ status: 'held', codes: [{ code, valid: true, discount_amount: 500 }] });
    expect(Date.parse(reservation.expires_at) - clock.now().getTime()).toBe(900_000);
    expect(await voucherCounts(p, code as string)).toEqual({ redemption_count: 1, held_count: 1 });
    const holder = reservation.customer.id;

    const other = await p.call('/v1/validations', { method: 'POST', json: { code, customer: { id: 'someone-else' } } });
    expect(other.body).toEqual({ valid: false, code, reason: 'reserved' });
    const own = await p.call('/v1/validations', { method: 'POST', json: { code, customer: { id: holder } } });
    expect(own.body).toMatchObject({ valid: true, code, reservation_id: reservation.id });
    // A redemption is refused as the limit demands.
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code } })).body.code).toBe('quantity_exceeded');

    const confirm = () => p.call(`/v1/reservations/${reservation.id}/confirm`, { method: 'POST', json: {} });
    const [first, second] = await Promise.all([confirm(), confirm()]);
    expect(first?.status).toBe(200);
    expect(second?.status).toBe(200);
    expect(second?.body.id).toBe(first?.body.id);
    expect(first?.body).toMatchObject({ status: 'succeeded', redemptions: [{ code, status: 'succeeded', discount_amount: 500 }] });
    expect(await voucherCounts(p, code as string)).toEqual({ redemption_count: 1, held_count: 0 });
    const got = await p.call(`/v1/reservations/${reservation.id}`);
    expect(got.body).toMatchObject({ status: 'confirmed', group_id: first?.body.id });
    const release = await p.call(`/v1/reservations/${reservation.id}/release`, { method: 'POST', json: {} });
    expect(release.status).toBe(409);
    expect(release.body.code).toBe('reservation_confirmed');
    const events = await p.platform.db.query<{ type: string }>(
      `select type from outbox_events where type like 'voucher.reservation.%' and data->>'id' = $1 order by seq`,
      [reservation.id],
    );
    expect(events.rows.map((e) => e.type)).toEqual(['voucher.reservation.created', 'voucher.reservation.confirmed']);
    const console = new ConsoleClient(p.url);
    await console.login(p.apiKey);
    const codePage = pageText((await console.get(`/console/codes/${code}`)).text);
    expect(codePage).toContain(`Reservations Order Status Customer Held Expires ${reservation.order.id} confirmed ${holder}`);
  });

  it('release gives the uses back (idempotently); a held use counts against per-customer limits and budgets', async () => {
    const campaign = await createCampaign(p, {
      rules: { redemption: { per_customer_campaign_limit: 1 } },
      budget: { max_redemptions: 2 },
    });
    const [a, b, c] = await seed(p, campaign, 3);
    const held = await reserve({ code: a, customer: { id: 'ann' }, order: order('o-ann') }, { 'Idempotency-Key': 'k-ann' });
    expect(held.status).toBe(201);
    const replay = await reserve({ code: a, customer: { id: 'ann' }, order: order('o-ann') }, { 'Idempotency-Key': 'k-ann' });
    expect(replay.body.id).toBe(held.body.id);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    // Ann's held use counts against her campaign limit, for a redemption and a reservation alike.
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: b, customer: { id: 'ann' } } })).body.code).toBe(
      'customer_limit_exceeded',
    );
    expect((await reserve({ code: b, customer: { id: 'ann' }, order: order('o-ann-2') })).body.code).toBe('customer_limit_exceeded');
    // And against the budget: one use left after bob's.
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: b, customer: { id: 'bob' } } })).status).toBe(201);
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: c, customer: { id: 'cid' } } })).body.code).toBe(
      'budget_exhausted',
    );

    const release = () => p.call(`/v1/reservations/${held.body.id}/release`, { method: 'POST', json: { reason: 'payment failed' } });
    const [r1, r2] = await Promise.all([release(), release()]);
    expect(r1?.status).toBe(200);
    expect(r2?.status).toBe(200);
    expect(r1?.body).toMatchObject({ status: 'released', release_reason: 'payment failed' });
    expect(await voucherCounts(p, a as string)).toEqual({ redemption_count: 0, held_count: 0 });
    expect((await p.call(`/v1/campaigns/${campaign}`)).body.budget_usage).toMatchObject({ used_redemptions: 1 });
    const confirm = await p.call(`/v1/reservations/${held.body.id}/confirm`, { method: 'POST', json: {} });
    expect(confirm.status).toBe(409);
    expect(confirm.body.code).toBe('reservation_released');
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: c, customer: { id: 'cid' } } })).status).toBe(201);
    const log = await p.call(`/v1/vouchers/${a}/events`);
    expect(log.body.data.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['reserved', 'reservation_released']));
  });

  it('refuses as a redemption would, and checks its input', async () => {
    const missing = await reserve({ code: 'NO-SUCH-CODE', order: order('o-x') });
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe('not_found');
    const noOrderId = await reserve({ code: 'X', order: { amount: 1, currency: 'EUR' } });
    expect(noOrderId.status).toBe(400);
    const tooLong = await reserve({ code: 'X', order: order('o'), ttl_seconds: 86_401 });
    expect(tooLong.status).toBe(400);
    expect((await p.call('/v1/reservations/5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a')).status).toBe(404);
  });

  it('a confirm racing the expiry sweep at the expiry instant: each reservation is confirmed or expired, never both, no use lost', async () => {
    const campaign = await createCampaign(p, { rules: { discount: { type: 'amount', value: 100, currency: 'EUR' } } });
    const codes = await seed(p, campaign, 100);
    const start = clock.now();
    const held = await Promise.all(codes.map((code, i) => reserve({ code, order: order(`race-${i}`), ttl_seconds: 60 })));
    expect(held.every((r) => r.status === 201)).toBe(true);
    const expiresAt = new Date(start.getTime() + 60_000);
    // Confirms see the last millisecond before expiry; the sweep runs at the expiry instant: both may take any row.
    clock.set(new Date(expiresAt.getTime() - 1));
    let swept = 0;
    let sweeping = true;
    const sweeps = (async () => {
      while (sweeping) swept += await expireReservations(p.platform.db, expiresAt, { batchSize: 7 });
    })();
    const confirms = await Promise.all(held.map((r) => p.call(`/v1/reservations/${r.body.id}/confirm`, { method: 'POST', json: {} })));
    sweeping = false;
    await sweeps;
    swept += await expireReservations(p.platform.db, expiresAt, { batchSize: 7 });
    clock.set(new Date(expiresAt.getTime() + 1000));

    const confirmed = confirms.filter((r) => r.status === 200).length;
    for (const r of confirms.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(409);
      expect(r.body.code).toBe('reservation_expired');
    }
    expect(confirmed + swept).toBe(100);
    const statuses = await p.platform.db.query<{ status: string; n: number }>(
      `select status, count(*)::int as n from reservations where order_id like 'race-%' group by status`,
    );
    expect(Object.fromEntries(statuses.rows.map((r) => [r.status, r.n]))).toEqual({
      ...(confirmed ? { confirmed } : {}),
      ...(swept ? { expired: swept } : {}),
    });
    for (const [i, r] of confirms.entries()) {
      expect(await voucherCounts(p, codes[i] as string)).toEqual({ redemption_count: r.status === 200 ? 1 : 0, held_count: 0 });
    }
    const redeemed = await p.platform.db.query<{ n: number }>(
      `select count(*)::int as n from redemptions where campaign_id = $1 and status = 'succeeded'`,
      [campaign],
    );
    expect(redeemed.rows[0]?.n).toBe(confirmed);
    const expiredEvents = await p.platform.db.query<{ n: number }>(
      `select count(*)::int as n from outbox_events where type = 'voucher.reservation.expired' and data->>'order' like '%race-%'`,
    );
    expect(expiredEvents.rows[0]?.n).toBe(swept);
  });
});

describe('reservation expiry through the job catalogue', () => {
  const p = useTestPlatform({ env: { RESERVATION_SWEEP_INTERVAL_MS: '600000' } });

  it("each hold's delayed job expires it; a job Redis lost is re-created by the reconciler", async () => {
    const campaign = await createCampaign(p);
    const [code] = await seed(p, campaign, 1);
    const held = await p.call('/v1/reservations', {
      method: 'POST',
      json: { code, order: { id: 'o-job', amount: 100, currency: 'EUR' }, ttl_seconds: 2 },
    });
    expect(held.status).toBe(201);
    const queue = p.platform.queues.get('maintenance');
    const job = await queue.getJob(`rsv-${held.body.id}`);
    expect(job).toBeDefined();
    await job?.remove();
    const recreated = await reconcileLostWork(p.platform, { only: ['reservation.expire'], missingForMs: 0 });
    expect(recreated.map((r) => r.rowId)).toEqual([held.body.id]);
    const expired = await waitFor(async () => {
      const r = await p.call(`/v1/reservations/${held.body.id}`);
      return r.body.status === 'expired' ? r.body : null;
    }, 20_000);
    expect(expired.expired_at).not.toBeNull();
    expect(await voucherCounts(p, code as string)).toEqual({ redemption_count: 0, held_count: 0 });
  });
});
