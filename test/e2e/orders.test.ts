import { describe, expect, it } from 'vitest';
import { processBusinessEvent } from '../../src/triggers/triggers.ts';
import { useTestPlatform, waitFor } from '../support/platform.ts';
import { createCampaign, seedCodes, uniqueCode } from '../support/vouchers.ts';

describe('orders that change', () => {
  const p = useTestPlatform({ env: { DATABASE_POOL_SIZE: '20' } });

  const seed = (campaignId: string, n: number) => seedCodes(p, campaignId, n, uniqueCode('O'));
  const counts = async (codes: string[]) =>
    (
      await p.platform.db.query<{ code: string; redemption_count: number; held_count: number }>(
        'select code, redemption_count, held_count from vouchers where code = any($1) order by code',
        [codes],
      )
    ).rows.map((r) => [r.redemption_count, r.held_count]);
  const rolledBackEvents = async (orderId: string) =>
    (
      await p.platform.db.query<{ n: number }>(
        `select count(*)::int as n from outbox_events where type = 'voucher.redemption.rolled_back' and data->'order'->>'id' = $1`,
        [orderId],
      )
    ).rows[0]?.n;
  /** An order with a group of two codes, a single redemption and a held reservation of a fourth code. */
  const orderWithEverything = async (orderId: string) => {
    const campaign = await createCampaign(p, { budget: { max_redemptions: 10 } });
    const codes = await seed(campaign, 4);
    const order = { id: orderId, amount: 5000, currency: 'EUR' };
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { codes: codes.slice(0, 2), order } })).status).toBe(201);
    const single = await p.call('/v1/redemptions', { method: 'POST', json: { code: codes[2], order } });
    expect(single.status).toBe(201);
    expect((await p.call('/v1/reservations', { method: 'POST', json: { code: codes[3], order } })).status).toBe(201);
    return { campaign, codes, single: single.body.id as string };
  };

  it('cancel rolls back and releases everything of the order once, racing a manual rollback and itself', async () => {
    const { campaign, codes, single } = await orderWithEverything('ord-cancel');
    const before = await p.call('/v1/orders/ord-cancel');
    expect(before.body).toMatchObject({ id: 'ord-cancel', status: 'held' });
    expect(before.body.redemptions).toHaveLength(3);
    const cancel = () => p.call('/v1/orders/ord-cancel/cancel', { method: 'POST', json: { reason: 'refunded' } });
    const results = await Promise.all([
      cancel(),
      p.call(`/v1/redemptions/${single}/rollback`, { method: 'POST', json: {} }),
      cancel(),
      cancel(),
    ]);
    expect(results[0]?.status).toBe(200);
    expect([200, 409]).toContain(results[1]?.status);
    expect(await counts(codes)).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    expect(await rolledBackEvents('ord-cancel')).toBe(3);
    const after = await p.call('/v1/orders/ord-cancel');
    expect(after.body.status).toBe('cancelled');
    expect(after.body.redemptions.every((r: { status: string }) => r.status === 'rolled_back')).toBe(true);
    expect(after.body.reservations[0]).toMatchObject({ status: 'released' });
    expect((await p.call(`/v1/campaigns/${campaign}`)).body.budget_usage.used_redemptions).toBe(0);
    expect((await p.call('/v1/orders/no-such-order')).status).toBe(404);
  });

  it('order.refunded through POST /v1/events, sent twice and processed again as a redelivered job, acts once', async () => {
    const { codes } = await orderWithEverything('ord-event');
    const event = { type: 'order.refunded', source_id: 'refund-ord-event', customer: { id: 'cust-1' }, data: { order_id: 'ord-event' } };
    const [first, second] = await Promise.all([
      p.call('/v1/events', { method: 'POST', json: event }),
      p.call('/v1/events', { method: 'POST', json: event }),
    ]);
    expect([first?.status, second?.status].sort()).toEqual([200, 202]);
    const eventId = (first?.status === 202 ? first : second)?.body.id as string;
    // A worker that died mid-way leaves its transaction rolled back and the job to run again: run it again, at once.
    await Promise.all([processBusinessEvent(p.platform, eventId), processBusinessEvent(p.platform, eventId)]);
    await waitFor(async () => (await p.call('/v1/orders/ord-event')).body.status === 'cancelled');
    expect(await counts(codes)).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    expect(await rolledBackEvents('ord-event')).toBe(3);
  });

  it('order.paid confirms the held reservation of the order', async () => {
    const campaign = await createCampaign(p);
    const [code] = await seed(campaign, 1);
    const held = await p.call('/v1/reservations', {
      method: 'POST',
      json: { code, order: { id: 'ord-paid', amount: 100, currency: 'EUR' } },
    });
    expect(held.status).toBe(201);
    await p.call('/v1/events', {
      method: 'POST',
      json: { type: 'order.paid', source_id: 'paid-1', customer: { id: 'cust-2' }, data: { order_id: 'ord-paid' } },
    });
    const order = await waitFor(async () => {
      const r = await p.call('/v1/orders/ord-paid');
      return r.body.status === 'redeemed' ? r.body : null;
    });
    expect(order.reservations[0]).toMatchObject({ status: 'confirmed' });
    expect(order.redemptions).toHaveLength(1);
    expect(await counts([code as string])).toEqual([[1, 0]]);
  });
});
