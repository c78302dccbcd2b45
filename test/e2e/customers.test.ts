import { describe, expect, it } from 'vitest';
import { processBusinessEvent } from '../../src/triggers/triggers.ts';
import { distributeByEmail, emailTemplate, publishByEmail } from '../support/delivery-fixtures.ts';
import { useTestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

describe('stored customers and segments, as conditions see them', () => {
  const p = useTestPlatform({ workers: false });

  const put = (path: string, json: unknown) => p.call(path, { method: 'PUT', json });
  const validate = (json: Record<string, unknown>) => p.call('/v1/validations', { method: 'POST', json });

  it('PUT creates then replaces a customer; GET shows its publications and redemption counts; the list pages by email', async () => {
    const created = await put('/v1/customers/ada', { email: 'Ada@Example.com', name: 'Ada', metadata: { tier: 'gold' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'ada', email: 'Ada@Example.com', name: 'Ada', phone: null, metadata: { tier: 'gold' } });
    const replaced = await put('/v1/customers/ada', { email: 'ada@example.com', metadata: { tier: 'platinum' } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ name: null, metadata: { tier: 'platinum' } });
    for (const id of ['ada-2', 'ada-3']) await put(`/v1/customers/${id}`, { email: 'ADA@example.com' });
    await put('/v1/customers/bob', { email: 'bob@example.com' });

    const campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: null } } });
    const code = uniqueCode('CU');
    await createVoucher(p, campaign, code);
    const published = await p.call('/v1/publications', { method: 'POST', json: { campaign_id: campaign, customer: { id: 'ada' } } });
    expect(published.status).toBe(201);
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code, customer: { id: 'ada' } } })).status).toBe(201);
    const detail = await p.call('/v1/customers/ada');
    expect(detail.status).toBe(200);
    expect(detail.body.publications).toHaveLength(1);
    expect(detail.body.publications[0]).toMatchObject({ campaign_id: campaign });
    expect(detail.body.redemptions).toEqual({ succeeded: 1, rolled_back: 0 });

    const first = await p.call('/v1/customers?email=ada@EXAMPLE.com&limit=2');
    expect(first.body.data.map((c: { id: string }) => c.id)).toEqual(['ada', 'ada-2']);
    const second = await p.call(`/v1/customers?email=ada@example.com&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body).toEqual({ data: [expect.objectContaining({ id: 'ada-3' })], next_cursor: null });
    expect((await p.call('/v1/customers/nobody')).status).toBe(404);
    expect((await p.call('/v1/customers?cursor=nonsense')).body.code).toBe('invalid_cursor');
  });

  it('DELETE erases the customer and keeps its redemptions anonymized', async () => {
    await put('/v1/customers/eve', { email: 'eve@example.com', phone: '+4915112345678', metadata: { tier: 'gold' } });
    const campaign = await createCampaign(p);
    const code = uniqueCode('ER');
    await createVoucher(p, campaign, code);
    const redeemed = await p.call('/v1/redemptions', {
      method: 'POST',
      json: { code, customer: { id: 'eve', email: 'eve@example.com' }, order: { amount: 1000, currency: 'EUR' } },
    });
    expect(redeemed.status).toBe(201);
    expect((await p.call('/v1/customers/eve', { method: 'DELETE' })).status).toBe(204);
    expect((await p.call('/v1/customers/eve')).status).toBe(404);
    expect((await p.call('/v1/customers/eve', { method: 'DELETE' })).status).toBe(404);
    const kept = await p.call(`/v1/redemptions/${redeemed.body.id}`);
    expect(kept.body).toMatchObject({ status: 'succeeded', code, customer: null, order: { amount: 1000, currency: 'EUR' } });
    expect((await p.call('/v1/redemptions?customer_id=eve')).body.data).toEqual([]);
    const rows = await p.platform.db.query(
      "select count(*)::int as n from redemptions where customer_id = 'eve' or customer_email like 'eve@%'",
    );
    expect(rows.rows[0]?.n).toBe(0);
  });

  it('DELETE also erases the customer from its publications, the codes published to it and its message deliveries, in one go', async () => {
    await put('/v1/customers/zoe', { email: 'zoe@example.com', name: 'Zoe' });
    const campaign = await createCampaign(p);
    const codes = [uniqueCode('ZE'), uniqueCode('ZE'), uniqueCode('ZE')];
    for (const code of codes) await createVoucher(p, campaign, code);
    const templateId = await emailTemplate(p);
    const mailed = await publishByEmail(p, campaign, templateId, { id: 'zoe', email: 'zoe@example.com', name: 'Zoe' });
    expect(mailed.status).toBe(201);
    const plain = await p.call('/v1/publications', { method: 'POST', json: { campaign_id: campaign, customer: { id: 'zoe' } } });
    expect(plain.status).toBe(201);
    const deliveryId = mailed.body.delivery.id as string;
    expect((await p.call(`/v1/deliveries/${deliveryId}`)).body).toMatchObject({ status: 'queued' });

    expect((await p.call('/v1/customers/zoe', { method: 'DELETE' })).status).toBe(204);
    for (const publication of [mailed.body, plain.body]) {
      const kept = await p.call(`/v1/publications/${publication.id}`);
      expect(kept.body).toMatchObject({ campaign_id: campaign, code: publication.code, customer_id: `erased:${publication.id}` });
      const voucher = await p.call(`/v1/vouchers/${publication.code}`);
      expect(voucher.body).toMatchObject({ holder_customer_id: null });
      expect(voucher.body.published_at).not.toBeNull();
    }
    // The queued message is not sent to an erased customer; its record stays without the address.
    expect((await p.call(`/v1/deliveries/${deliveryId}`)).body).toMatchObject({ status: 'failed', error: 'customer erased' });
    const traces = await p.platform.db.query<{ n: number }>(
      `select (select count(*) from publications where customer_id = 'zoe')
            + (select count(*) from vouchers where holder_customer_id = 'zoe')
            + (select count(*) from deliveries where customer_id = 'zoe' or recipient like 'zoe@%') as n`,
    );
    expect(Number(traces.rows[0]?.n)).toBe(0);
    // A customer known only from a publication (never PUT) is erasable too; then it is unknown.
    const other = await p.call('/v1/publications', { method: 'POST', json: { campaign_id: campaign, customer: { id: 'yan' } } });
    expect(other.status).toBe(201);
    await p.platform.db.query("delete from customers where id = 'yan'");
    expect((await p.call('/v1/customers/yan', { method: 'DELETE' })).status).toBe(204);
    expect((await p.call('/v1/customers/yan', { method: 'DELETE' })).status).toBe(404);
  });

  it('DELETE leaves the id and the e-mail in no table but the outbox: every place that names a customer is erased', async () => {
    const id = `erase-${uniqueCode('me').toLowerCase()}`;
    const email = `${id}@example.com`;
    const customer = { id, email };
    await put(`/v1/customers/${id}`, { email, name: 'Erin', metadata: { tier: 'gold' } });
    const campaign = await createCampaign(p, {
      rules: { discount: { type: 'amount', value: 100, currency: 'EUR' } },
      budget: { max_discount_per_customer: 1000, currency: 'EUR' },
    });
    const [spent, held, published] = [uniqueCode('EA'), uniqueCode('EA'), uniqueCode('EA')];
    for (const code of [spent, held, published]) await createVoucher(p, campaign, code);
    const order = { amount: 1000, currency: 'EUR' };
    const redeem = () => p.call('/v1/redemptions', { method: 'POST', json: { code: spent, customer, order } });
    expect((await redeem()).status).toBe(201);
    expect((await redeem()).status).toBe(422); // a refusal is recorded, naming the customer
    const reservation = await p.call('/v1/reservations', {
      method: 'POST',
      json: { code: held, customer, order: { ...order, id: 'o-1' } },
    });
    expect(reservation.status).toBe(201);
    expect((await p.call('/v1/publications', { method: 'POST', json: { campaign_id: campaign, customer: { id } } })).status).toBe(201);
    const templateId = await emailTemplate(p);
    const listed = await distributeByEmail(p, campaign, templateId, [
      { email: email.toUpperCase(), name: 'Erin' },
      { email: 'other@example.com' },
    ]);
    expect(listed.status).toBe(202);
    const event = await p.call('/v1/events', { method: 'POST', json: { type: 'order.created', customer, data: { n: 1 } } });
    expect(event.status).toBe(202);
    // The distribution list knows the customer by its e-mail only; both ids are erased.
    expect((await p.call(`/v1/customers/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await p.call(`/v1/customers/email:${email}`, { method: 'DELETE' })).status).toBe(204);

    const columns = await p.platform.db.query<{ table_name: string; column_name: string }>(
      `select c.table_name, c.column_name from information_schema.columns c
       join information_schema.tables t using (table_schema, table_name)
       where c.table_schema = 'public' and t.table_type = 'BASE TABLE' and c.data_type in ('text', 'jsonb', 'character varying')`,
    );
    const found: string[] = [];
    for (const { table_name, column_name } of columns.rows) {
      const { rows } = await p.platform.db.query<{ n: number }>(
        `select count(*)::int as n from "${table_name}" where "${column_name}"::text ilike $1`,
        [`%${id}%`],
      );
      if ((rows[0]?.n ?? 0) > 0) found.push(`${table_name}.${column_name}`);
    }
    // The outbox keeps what webhooks were sent (docs/redemption.md says so); nothing else names the customer.
    expect(found.filter((place) => !place.startsWith('outbox_events.'))).toEqual([]);
    expect(found.length).toBeGreaterThan(0);
    // What was kept still adds up: the redemption, the hold, the publication and the lifecycle entries.
    const kept = await p.platform.db.query<{ redeemed: number; held: number; events: number }>(
      `select (select count(*)::int from redemptions where campaign_id = $1 and status = 'succeeded') as redeemed,
              (select count(*)::int from reservations where id = $2 and status = 'held') as held,
              (select count(*)::int from voucher_events e join vouchers v on v.id = e.voucher_id
                where v.campaign_id = $1 and e.type in ('redeemed', 'reserved', 'published') and e.details ? 'customer_id') as events`,
      [campaign, reservation.body.id],
    );
    expect(kept.rows[0]).toEqual({ redeemed: 1, held: 1, events: 3 });
    // The lifecycle log stays append-only for every other change.
    await expect(p.platform.db.query('update voucher_events set details = details || \'{"x": 1}\'')).rejects.toThrow(/append-only/);
    await expect(p.platform.db.query('delete from voucher_events')).rejects.toThrow(/append-only/);
    // The business event erased before it was processed stores no customer and publishes nothing when it is.
    expect(await processBusinessEvent(p.platform, event.body.id)).toEqual([]);
    const stored = await p.platform.db.query<{ n: number }>("select count(*)::int as n from customers where id = 'erased'");
    expect(stored.rows[0]?.n).toBe(0);
  });

  it('segments: POST, GET, PUT, DELETE; a segment reads only the customer', async () => {
    const when = { field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum'] };
    expect((await p.call('/v1/segments', { method: 'POST', json: { name: 'vip', when } })).status).toBe(201);
    const again = await p.call('/v1/segments', { method: 'POST', json: { name: 'vip', when } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('segment_exists');
    expect((await p.call('/v1/segments/vip')).body).toMatchObject({ name: 'vip', when });
    const replaced = await put('/v1/segments/vip', { when: { field: 'customer.metadata.tier', op: 'eq', value: 'gold' } });
    expect(replaced.status).toBe(200);
    expect(replaced.body.when.value).toBe('gold');
    expect((await put('/v1/segments/fresh', { when })).status).toBe(201);
    const items = await p.call('/v1/segments', { method: 'POST', json: { name: 'x', when: { items: { match: {} } } } });
    expect(items.status).toBe(400);
    expect(items.body.errors[0].field).toBe('when.items');
    const order = await p.call('/v1/segments', {
      method: 'POST',
      json: { name: 'x', when: { field: 'order.amount', op: 'gt', value: 1 } },
    });
    expect(order.body.errors[0].field).toBe('when.field');
    expect((await p.call('/v1/segments/fresh', { method: 'DELETE' })).status).toBe(204);
    expect((await p.call('/v1/segments/fresh')).status).toBe(404);
    expect((await p.call('/v1/segments/fresh', { method: 'DELETE' })).status).toBe(404);
  });

  it('conditions see the stored metadata with the request metadata laid over it, and segments as they are now', async () => {
    await put('/v1/customers/gina', { metadata: { tier: 'gold', country: 'DE' } });
    await put('/v1/customers/sam', { metadata: { tier: 'silver', country: 'DE' } });
    await p.call('/v1/segments', {
      method: 'POST',
      json: { name: 'members', when: { field: 'customer.metadata.tier', op: 'in', value: ['gold'] } },
    });
    const campaign = await createCampaign(p, {
      rules: {
        redemption: { per_code_limit: null },
        conditions: [
          { name: 'members-only', when: { field: 'customer.segment', op: 'eq', value: 'members' }, message: 'Members only.' },
          { name: 'germany', when: { field: 'customer.metadata.country', op: 'eq', value: 'DE' } },
        ],
        discount: { type: 'percent', value: 10 },
      },
    });
    const code = uniqueCode('SEG');
    await createVoucher(p, campaign, code);
    const order = { currency: 'EUR', amount: 10_000 };
    expect((await validate({ code, customer: { id: 'gina' }, order })).body.valid).toBe(true);
    expect((await validate({ code, customer: { id: 'sam' }, order })).body).toMatchObject({
      valid: false,
      reason: 'rule_not_met',
      rule: { name: 'members-only', message: 'Members only.' },
    });
    // The request's metadata wins key by key; the stored keys it does not name still count.
    expect((await validate({ code, customer: { id: 'sam', metadata: { tier: 'gold' } }, order })).body.valid).toBe(true);
    expect((await validate({ code, customer: { id: 'gina', metadata: { country: 'FR' } }, order })).body.rule).toEqual({ name: 'germany' });
    // Nobody stored, nothing in the request: not a member.
    expect((await validate({ code, customer: { id: 'stranger' }, order })).body.reason).toBe('rule_not_met');
    // No customer at all: not a member either.
    expect((await validate({ code, order })).body.rule.name).toBe('members-only');
    // A redemption reads the stored customer in its transaction.
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code, customer: { id: 'gina' }, order } })).status).toBe(201);
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code, customer: { id: 'sam' }, order } })).body.code).toBe(
      'rule_not_met',
    );
    // A changed segment, or a changed customer, is seen by the next validation.
    await put('/v1/segments/members', { when: { field: 'customer.metadata.tier', op: 'in', value: ['gold', 'silver'] } });
    expect((await validate({ code, customer: { id: 'sam' }, order })).body.valid).toBe(true);
    await put('/v1/customers/sam', { metadata: { tier: 'bronze', country: 'DE' } });
    expect((await validate({ code, customer: { id: 'sam' }, order })).body.valid).toBe(false);
    // A deleted segment has no members; the campaign still saves only names that exist.
    await p.call('/v1/segments/members', { method: 'DELETE' });
    expect((await validate({ code, customer: { id: 'gina' }, order })).body.rule.name).toBe('members-only');
    const patch = await p.call(`/v1/campaigns/${campaign}`, {
      method: 'PATCH',
      json: { rules: { conditions: [{ name: 'm', when: { field: 'customer.segment', op: 'in', value: ['vip', 'members'] } }] } },
    });
    expect(patch.status).toBe(400);
    expect(patch.body.errors).toEqual([{ field: 'rules.conditions.0.when.value.1', message: 'no segment named "members"' }]);
  });
});
