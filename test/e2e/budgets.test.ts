import { describe, expect, it } from 'vitest';
import { ConsoleClient, pageText } from '../support/console.ts';
import { useTestPlatform } from '../support/platform.ts';
import { createCampaign, seedCodes, uniqueCode } from '../support/vouchers.ts';

describe('campaign budgets', () => {
  const p = useTestPlatform({ workers: false, env: { DATABASE_POOL_SIZE: '20' } });

  const redeem = (json: Record<string, unknown>) => p.call('/v1/redemptions', { method: 'POST', json });
  const seed = (campaignId: string, n: number) => seedCodes(p, campaignId, n, uniqueCode('B'));
  const exhaustedEvents = async (campaignId: string) =>
    Number(
      (
        await p.platform.db.query<{ n: string }>(
          `select count(*) as n from outbox_events where type = 'campaign.budget.exhausted' and data->>'campaign_id' = $1`,
          [campaignId],
        )
      ).rows[0]?.n,
    );
  const order = { amount: 1000, currency: 'EUR' };

  it('a discount budget that allows 37: 200 parallel redemptions give exactly 37, the rest budget_exhausted', async () => {
    const campaign = await createCampaign(p, {
      rules: { discount: { type: 'amount', value: 100, currency: 'EUR' } },
      budget: { max_discount_amount: 3700, currency: 'EUR' },
    });
    const codes = await seed(campaign, 200);
    const results = await Promise.all(codes.map((code, i) => redeem({ code, customer: { id: `c${i}` }, order })));
    const succeeded = results.filter((r) => r.status === 201);
    expect(succeeded).toHaveLength(37);
    const refused = results.filter((r) => r.status === 422);
    expect(refused).toHaveLength(163);
    for (const r of refused) expect(r.body.code).toBe('budget_exhausted');
    const total = await p.platform.db.query<{ sum: string }>(
      `select sum(discount_amount) as sum from redemptions where campaign_id = $1 and status = 'succeeded'`,
      [campaign],
    );
    expect(Number(total.rows[0]?.sum)).toBe(3700);
    expect(await exhaustedEvents(campaign)).toBe(1);

    const stats = await p.call(`/v1/campaigns/${campaign}/stats`);
    expect(stats.body.budget).toMatchObject({
      used_redemptions: 37,
      used_discount_amount: 3700,
      remaining_discount_amount: 0,
      exhausted: true,
    });
    const view = await p.call(`/v1/campaigns/${campaign}`);
    expect(view.body.budget).toEqual({ max_discount_amount: 3700, currency: 'EUR' });
    expect(view.body.budget_usage).toMatchObject({ used_discount_amount: 3700, remaining_discount_amount: 0 });

    // A rollback gives its discount back: one more fits; running out again is not announced again.
    const rolled = await p.call(`/v1/redemptions/${succeeded[0]?.body.id}/rollback`, { method: 'POST', json: {} });
    expect(rolled.status).toBe(200);
    expect((await p.call(`/v1/campaigns/${campaign}`)).body.budget_usage).toMatchObject({
      used_redemptions: 36,
      remaining_discount_amount: 100,
    });
    const unused = codes.filter((c) => !succeeded.some((s) => s.body.code === c));
    expect((await redeem({ code: unused[0], order })).status).toBe(201);
    expect((await redeem({ code: unused[1], order })).body.code).toBe('budget_exhausted');
    expect(await exhaustedEvents(campaign)).toBe(1);

    // Raised, it has room again, and announces its exhaustion once more when that runs out.
    const raised = await p.call(`/v1/campaigns/${campaign}`, {
      method: 'PATCH',
      json: { budget: { max_discount_amount: 3800, currency: 'EUR' } },
    });
    expect(raised.status).toBe(200);
    expect(raised.body.budget_usage).toMatchObject({ remaining_discount_amount: 100, exhausted: false, exhausted_at: null });
    expect((await redeem({ code: unused[2], order })).status).toBe(201);
    expect((await redeem({ code: unused[3], order })).body.code).toBe('budget_exhausted');
    expect(await exhaustedEvents(campaign)).toBe(2);

    // The console shows the budget in the campaign list and on the campaign page.
    const console = new ConsoleClient(p.url);
    await console.login(p.apiKey);
    const list = pageText((await console.get('/console/campaigns')).text);
    expect(list).toContain('38.00 EUR / 38.00 EUR');
    const page = pageText((await console.get(`/console/campaigns/${campaign}`)).text);
    expect(page).toContain('Budget: 38.00 EUR of 38.00 EUR used, 0.00 EUR left.');
  });

  it('allow_partial on an order with lines: the lines give the difference back and still sum to the order', async () => {
    const partial = await createCampaign(p, {
      rules: { discount: { type: 'amount', value: 100, currency: 'EUR' } },
      budget: { max_discount_amount: 133, currency: 'EUR', allow_partial: true },
    });
    const codes = await seed(partial, 2);
    const lines = {
      currency: 'EUR',
      items: [
        { sku: 'A', quantity: 1, price: 700 },
        { sku: 'B', quantity: 2, price: 150 },
      ],
    };
    const answers = [];
    for (const code of codes) answers.push(await redeem({ codes: [code], order: lines }));
    expect(answers.map((r) => r.status)).toEqual([201, 201]);
    const last = answers[1]?.body;
    expect(last.order).toMatchObject({ amount: 1000, discount_amount: 33, total_amount: 967 });
    const items = last.order.items as { discount_amount: number; total_amount: number; amount: number }[];
    expect(items.reduce((sum, item) => sum + item.discount_amount, 0)).toBe(33);
    for (const item of items) expect(item.discount_amount + item.total_amount).toBe(item.amount);
  });

  it('a per-customer cap beside a partial campaign grant counts only what the customer got', async () => {
    const campaign = await createCampaign(p, {
      rules: { redemption: { per_code_limit: null }, discount: { type: 'amount', value: 100, currency: 'EUR' } },
      budget: { max_discount_amount: 150, max_discount_per_customer: 1000, currency: 'EUR', allow_partial: true },
    });
    const [code] = await seed(campaign, 1);
    const got = [];
    for (let i = 0; i < 3; i++) {
      const r = await redeem({ code, order, customer: { id: 'pat' } });
      got.push(r.status === 201 ? r.body.discount_amount : r.body.code);
    }
    expect(got).toEqual([100, 50, 'budget_exhausted']);
    const used = await p.platform.db.query<{ used_discount: string }>(
      'select used_discount from campaign_budget_customers where campaign_id = $1 and customer_key = $2',
      [campaign, 'pat'],
    );
    expect(Number(used.rows[0]?.used_discount)).toBe(150);
  });

  it('allow_partial gives exactly what is left; max_redemptions caps uses; a per-customer cap needs the customer', async () => {
    const partial = await createCampaign(p, {
      rules: { discount: { type: 'amount', value: 100, currency: 'EUR' } },
      budget: { max_discount_amount: 250, currency: 'EUR', allow_partial: true },
    });
    const codes = await seed(partial, 4);
    const amounts: number[] = [];
    for (const code of codes) {
      const r = await redeem({ code, order });
      amounts.push(r.status === 201 ? r.body.discount_amount : -1);
      if (r.status === 422) expect(r.body.code).toBe('budget_exhausted');
    }
    expect(amounts).toEqual([100, 100, 50, -1]);

    const capped = await createCampaign(p, { rules: { redemption: { per_code_limit: null } }, budget: { max_redemptions: 3 } });
    const [code] = await seed(capped, 1);
    const statuses = await Promise.all(Array.from({ length: 10 }, () => redeem({ code })));
    expect(statuses.filter((r) => r.status === 201)).toHaveLength(3);

    const perCustomer = await createCampaign(p, {
      rules: { redemption: { per_code_limit: null }, discount: { type: 'amount', value: 100, currency: 'EUR' } },
      budget: { max_discount_per_customer: 200, currency: 'EUR' },
    });
    const [shared] = await seed(perCustomer, 1);
    expect((await redeem({ code: shared, order })).body.code).toBe('customer_required');
    const ann = await Promise.all(Array.from({ length: 5 }, () => redeem({ code: shared, order, customer: { id: 'ann' } })));
    expect(ann.filter((r) => r.status === 201)).toHaveLength(2);
    expect((await redeem({ code: shared, order, customer: { id: 'bob' } })).status).toBe(201);
  });

  it('a budget is checked on input: a discount cap needs its currency', async () => {
    const res = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'x', budget: { max_discount_amount: 100 } } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('budget.currency');
  });
});
