import { describe, expect, it } from 'vitest';
import { useTestPlatform } from '../support/platform.ts';
import { createCampaign, uniqueCode } from '../support/vouchers.ts';

describe('failed redemptions are kept', () => {
  const p = useTestPlatform({ workers: false });

  it('each refusal with its reason, rule, customer, order and key; guesses are no rows; stats count refusals by reason', async () => {
    const campaign = await createCampaign(p, {
      rules: { conditions: [{ name: 'big-orders', when: { field: 'order.amount', op: 'gte', value: 10_000 }, message: 'From 100 €.' }] },
      budget: { max_redemptions: 1 },
    });
    const prefix = uniqueCode('F');
    await p.platform.db.query(`insert into vouchers (code, campaign_id) select $1 || '-' || g, $2 from generate_series(1, 3) g`, [
      prefix,
      campaign,
    ]);
    const redeem = (json: Record<string, unknown>) => p.call('/v1/redemptions', { method: 'POST', json });
    const small = { id: 'ord-small', amount: 500, currency: 'EUR' };
    const big = { id: 'ord-big', amount: 20_000, currency: 'EUR' };
    expect((await redeem({ code: `${prefix}-1`, customer: { id: 'ann' }, order: small })).body.code).toBe('rule_not_met');
    expect((await redeem({ code: `${prefix}-1`, customer: { id: 'ann' }, order: big })).status).toBe(201);
    expect((await redeem({ code: `${prefix}-1`, order: big })).body.code).toBe('quantity_exceeded');
    expect((await p.call('/v1/reservations', { method: 'POST', json: { code: `${prefix}-2`, order: big } })).body.code).toBe(
      'budget_exhausted',
    );
    expect((await redeem({ code: 'NOSUCHCODE-123456', order: big })).body.code).toBe('not_found');

    const failed = await p.call(`/v1/redemptions?status=failed&campaign_id=${campaign}`);
    expect(failed.status).toBe(200);
    expect(failed.body.data.map((f: { reason: string; kind: string }) => [f.kind, f.reason])).toEqual([
      ['reservation', 'budget_exhausted'],
      ['redemption', 'quantity_exceeded'],
      ['redemption', 'rule_not_met'],
    ]);
    expect(failed.body.data[2]).toMatchObject({
      status: 'failed',
      code: `${prefix}-1`,
      rule: { name: 'big-orders', message: 'From 100 €.' },
      customer_id: 'ann',
      order_id: 'ord-small',
    });
    expect(failed.body.data[2].api_key_id).toMatch(/^[0-9a-f-]{36}$/);
    const byReason = await p.call(`/v1/redemptions?status=failed&reason=rule_not_met`);
    expect(byReason.body.data).toHaveLength(1);
    expect((await p.call('/v1/redemptions?status=failed&reason=not_found')).body.data).toEqual([]);
    const stored = await p.platform.db.query(`select 1 from failed_redemptions where code like '%NOSUCHCODE%'`);
    expect(stored.rowCount).toBe(0);
    expect((await p.call('/v1/redemptions?reason=rule_not_met')).status).toBe(400);

    const stats = await p.call(`/v1/campaigns/${campaign}/stats`);
    expect(stats.body.refusals).toEqual({ budget_exhausted: 1, quantity_exceeded: 1, rule_not_met: 1 });
  });
});
