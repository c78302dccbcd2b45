import { describe, expect, it } from 'vitest';
import { campaignWithCodes } from '../support/delivery-fixtures.ts';
import { useTestPlatform } from '../support/platform.ts';

describe('publications', () => {
  const p = useTestPlatform({ env: { GENERATION_CHUNK_SIZE: '1000' } });

  const publish = (json: Record<string, unknown>) => p.call('/v1/publications', { method: 'POST', json });

  it('assigns an unpublished code to the customer, marks it, logs it and writes voucher.published in the outbox', async () => {
    const campaignId = await campaignWithCodes(p, 5);
    const res = await publish({ campaign_id: campaignId, customer: { id: 'cust-1', email: 'ada@example.com', name: 'Ada' } });
    expect(res.status).toBe(201);
    expect(res.body.code).toMatch(/^[A-Z0-9]{10}$/);
    expect(res.body.customer_id).toBe('cust-1');
    const { rows } = await p.platform.db.query(
      `select v.holder_customer_id, v.published_at,
              (select count(*)::int from voucher_events e where e.voucher_id = v.id and e.type = 'published') as logged,
              (select count(*)::int from outbox_events o where o.type = 'voucher.published' and o.data->>'code' = v.code) as emitted
       from vouchers v where v.code = $1`,
      [res.body.code],
    );
    expect(rows[0]).toMatchObject({ holder_customer_id: 'cust-1', logged: 1, emitted: 1 });
    expect(rows[0]?.published_at).not.toBeNull();
    const customer = await p.platform.db.query('select * from customers where id = $1', ['cust-1']);
    expect(customer.rows[0]).toMatchObject({ email: 'ada@example.com', name: 'Ada' });
  });

  it('concurrent publications never share a code, and the campaign then answers 422 campaign_exhausted', async () => {
    const campaignId = await campaignWithCodes(p, 40);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => publish({ campaign_id: campaignId, customer: { id: `c-${i}` } })),
    );
    const ok = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 422);
    expect(ok).toHaveLength(40);
    expect(refused).toHaveLength(10);
    expect(refused[0]?.body.code).toBe('campaign_exhausted');
    expect(new Set(ok.map((r) => r.body.code)).size).toBe(40);
    const { rows } = await p.platform.db.query(
      'select count(*)::int as n, count(distinct voucher_id)::int as d from publications where campaign_id = $1',
      [campaignId],
    );
    expect(rows[0]).toEqual({ n: 40, d: 40 });
  });

  it('never hands out a code that was already redeemed or disabled', async () => {
    const campaignId = await campaignWithCodes(p, 3);
    const { rows } = await p.platform.db.query<{ code: string }>('select code from vouchers where campaign_id = $1 order by id', [
      campaignId,
    ]);
    const [redeemed, disabled, fresh] = rows.map((r) => r.code);
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: redeemed, customer: { id: 'walk-in' } } })).status).toBe(201);
    expect((await p.call(`/v1/vouchers/${disabled}/disable`, { method: 'POST' })).status).toBe(200);
    const first = await publish({ campaign_id: campaignId, customer: { id: 'new-1' } });
    expect(first.status).toBe(201);
    expect(first.body.code).toBe(fresh);
    const second = await publish({ campaign_id: campaignId, customer: { id: 'new-2' } });
    expect(second.status).toBe(422);
    expect(second.body.code).toBe('campaign_exhausted');
  });

  it('the same source_id returns the same publication and code, retried or raced', async () => {
    const campaignId = await campaignWithCodes(p, 20);
    const body = { campaign_id: campaignId, customer: { id: 'racer' }, source_id: 'signup-42' };
    const raced = await Promise.all(Array.from({ length: 12 }, () => publish(body)));
    expect(raced.every((r) => r.status === 201 || r.status === 200)).toBe(true);
    expect(raced.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(raced.map((r) => r.body.id)).size).toBe(1);
    expect(new Set(raced.map((r) => r.body.code)).size).toBe(1);
    const retry = await publish(body);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.code).toBe(raced[0]?.body.code);
    const { rows } = await p.platform.db.query(
      `select (select count(*)::int from publications where campaign_id = $1) as pubs,
              (select count(*)::int from vouchers where campaign_id = $1 and published_at is not null) as published,
              (select count(*)::int from outbox_events where type = 'voucher.published' and data->>'source_id' = 'signup-42') as events`,
      [campaignId],
    );
    expect(rows[0]).toEqual({ pubs: 1, published: 1, events: 1 });
  });

  it('join_once gives a customer one code per campaign, even under concurrency', async () => {
    const campaignId = await campaignWithCodes(p, 20);
    const settings = await p.call(`/v1/campaigns/${campaignId}/publishing`, { method: 'PUT', json: { join_once: true } });
    expect(settings.body).toMatchObject({ join_once: true, generate_on_demand: false });
    const results = await Promise.all(Array.from({ length: 8 }, () => publish({ campaign_id: campaignId, customer: { id: 'once' } })));
    expect(new Set(results.map((r) => r.body.code)).size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const other = await publish({ campaign_id: campaignId, customer: { id: 'someone-else' } });
    expect(other.status).toBe(201);
    expect(other.body.code).not.toBe(results[0]?.body.code);
    const { rows } = await p.platform.db.query(
      'select count(*)::int as n from vouchers where campaign_id = $1 and published_at is not null',
      [campaignId],
    );
    expect(rows[0]?.n).toBe(2);
  });

  it('generates codes on demand when the campaign says so', async () => {
    const campaignId = await campaignWithCodes(p, 0);
    const refused = await publish({ campaign_id: campaignId, customer: { id: 'x' } });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('campaign_exhausted');
    await p.call(`/v1/campaigns/${campaignId}/publishing`, { method: 'PUT', json: { generate_on_demand: true } });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => publish({ campaign_id: campaignId, customer: { id: `od-${i}` } })),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(new Set(results.map((r) => r.body.code)).size).toBe(10);
    const voucher = await p.call(`/v1/vouchers/${results[0]?.body.code}`);
    expect(voucher.status).toBe(200);
  });

  it('validates input: unknown campaign 404, email channel needs an address and a template, bad phone 400', async () => {
    const campaignId = await campaignWithCodes(p, 2);
    expect((await publish({ campaign_id: '00000000-0000-4000-8000-000000000000', customer: { id: 'a' } })).status).toBe(404);
    const noEmail = await publish({ campaign_id: campaignId, customer: { id: 'a' }, channel: 'email' });
    expect(noEmail.status).toBe(400);
    expect(noEmail.body.errors[0].field).toBe('customer.email');
    const noTemplate = await publish({ campaign_id: campaignId, customer: { id: 'a', email: 'a@example.com' }, channel: 'email' });
    expect(noTemplate.status).toBe(400);
    expect(noTemplate.body.errors[0].field).toBe('template_id');
    const badPhone = await publish({ campaign_id: campaignId, customer: { id: 'a', phone: '12' }, channel: 'sms' });
    expect(badPhone.status).toBe(400);
    // Nothing was published by the refused requests.
    const { rows } = await p.platform.db.query('select count(*)::int as n from publications where campaign_id = $1', [campaignId]);
    expect(rows[0]?.n).toBe(0);
  });
});
