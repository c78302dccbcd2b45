import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processBusinessEvent } from '../../src/triggers/triggers.ts';
import { campaignWithCodes, emailTemplate } from '../support/delivery-fixtures.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';

describe('event-triggered issuance', () => {
  let p: TestPlatform;
  let mailDir: string;
  beforeAll(async () => {
    mailDir = await mkdtemp(path.join(tmpdir(), 'promo-mail-'));
    // No SMTP_URL: email goes to .eml files in MAIL_DIR (the local-development mode).
    p = await startTestPlatform({ env: { GENERATION_CHUNK_SIZE: '1000', MAIL_DIR: mailDir, MAIL_FROM: 'promo@shop.example' } });
  });
  afterAll(async () => {
    await p?.destroy();
    await rm(mailDir, { recursive: true, force: true });
  });

  const processed = (id: string) =>
    waitFor(async () => {
      const { rows } = await p.platform.db.query('select * from business_events where id = $1', [id]);
      return rows[0]?.status === 'processed' ? rows[0] : undefined;
    });

  it('customer.created publishes one code and emails it; the same source_id never issues twice', async () => {
    const campaignId = await campaignWithCodes(p, 10, 'Welcome');
    const templateId = await emailTemplate(p, { subject: 'Welcome {{ customer.name }}', text: 'Your welcome code: {{ voucher.code }}' });
    const trigger = await p.call(`/v1/campaigns/${campaignId}/triggers`, {
      method: 'POST',
      json: { event: 'customer.created', channel: 'email', template_id: templateId },
    });
    expect(trigger.status).toBe(201);
    const event = { type: 'customer.created', customer: { id: 'u1', email: 'u1@example.com', name: 'Uma' }, source_id: 'signup-u1' };
    const posts = await Promise.all(Array.from({ length: 6 }, () => p.call('/v1/events', { method: 'POST', json: event })));
    expect(posts.filter((r) => r.status === 202)).toHaveLength(1);
    expect(posts.filter((r) => r.status === 200)).toHaveLength(5);
    expect(new Set(posts.map((r) => r.body.id)).size).toBe(1);
    const id = posts[0]?.body.id as string;
    const done = await processed(id);
    expect(done.result).toEqual([expect.objectContaining({ trigger_id: trigger.body.id, status: 'published' })]);
    // A re-run of the job (worker crash, retry) finds the publication instead of issuing another code.
    await p.platform.db.query(`update business_events set status = 'received' where id = $1`, [id]);
    const rerun = await processBusinessEvent(p.platform, id);
    expect(rerun).toEqual([expect.objectContaining({ status: 'existing', code: done.result[0].code })]);
    const again = await p.call('/v1/events', { method: 'POST', json: event });
    expect(again.status).toBe(200);

    const { rows } = await p.platform.db.query('select * from publications where customer_id = $1', ['u1']);
    expect(rows).toHaveLength(1);
    const delivery = await waitFor(async () => {
      const d = (await p.platform.db.query('select * from deliveries where publication_id = $1', [rows[0]?.id])).rows[0];
      return d?.status === 'sent' ? d : undefined;
    });
    expect(delivery.provider).toBe('maildir');
    const files = await readdir(mailDir);
    expect(files.filter((f) => f.endsWith('.eml'))).toHaveLength(1);
    const eml = await readFile(path.join(mailDir, files[0] as string), 'utf8');
    expect(eml).toContain('To: u1@example.com');
    expect(eml).toContain(`Your welcome code: ${rows[0]?.code}`);
    const outbox = await p.platform.db.query(
      `select count(*)::int as n from outbox_events where type = 'customer.created' and data->>'source_id' = 'signup-u1'`,
    );
    expect(outbox.rows[0]?.n).toBe(1);
  });

  it('order.created issues only when the amount condition holds', async () => {
    const campaignId = await campaignWithCodes(p, 10, 'Big spenders');
    const trigger = await p.call(`/v1/campaigns/${campaignId}/triggers`, {
      method: 'POST',
      json: { event: 'order.created', conditions: { min_amount: 5000, currency: 'EUR' } },
    });
    expect(trigger.status).toBe(201);
    const small = await p.call('/v1/events', {
      method: 'POST',
      json: { type: 'order.created', customer: { id: 'o1' }, data: { amount: 1000, currency: 'EUR' }, source_id: 'order-1' },
    });
    const big = await p.call('/v1/events', {
      method: 'POST',
      json: { type: 'order.created', customer: { id: 'o1' }, data: { amount: 7500, currency: 'EUR' }, source_id: 'order-2' },
    });
    expect((await processed(small.body.id)).result).toEqual([expect.objectContaining({ status: 'not_matched' })]);
    expect((await processed(big.body.id)).result).toEqual([expect.objectContaining({ status: 'published' })]);
    const { rows } = await p.platform.db.query('select count(*)::int as n from publications where campaign_id = $1', [campaignId]);
    expect(rows[0]?.n).toBe(1);
    const outbox = await p.platform.db.query(`select count(*)::int as n from outbox_events where type = 'order.created'`);
    expect(outbox.rows[0]?.n).toBe(2);
    const list = await p.call(`/v1/campaigns/${campaignId}/triggers`);
    expect(list.body.data).toHaveLength(1);
    expect((await p.call(`/v1/campaigns/${campaignId}/triggers/${trigger.body.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('validates events and triggers', async () => {
    const bad = await p.call('/v1/events', { method: 'POST', json: { type: 'Customer Created', customer: { id: 'x' } } });
    expect(bad.status).toBe(400);
    const noCustomer = await p.call('/v1/events', { method: 'POST', json: { type: 'customer.created' } });
    expect(noCustomer.status).toBe(400);
    // A business event cannot pose as one of the platform's own (webhooks would deliver it as a redemption).
    const spoofed = await p.call('/v1/events', { method: 'POST', json: { type: 'voucher.redemption.succeeded', customer: { id: 'x' } } });
    expect(spoofed.status).toBe(400);
    expect(spoofed.body.errors[0].field).toBe('type');
    const campaignId = await campaignWithCodes(p, 0);
    const noTemplate = await p.call(`/v1/campaigns/${campaignId}/triggers`, {
      method: 'POST',
      json: { event: 'customer.created', channel: 'email' },
    });
    expect(noTemplate.status).toBe(400);
  });
});
