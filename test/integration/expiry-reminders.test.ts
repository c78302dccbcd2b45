import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { seedVouchers } from './expiry-fixtures.ts';

const T0 = new Date('2031-09-01T00:00:00Z');
const days = (n: number) => new Date(T0.getTime() + n * 86_400_000);

describe('expiring-soon reminders', () => {
  let p: TestPlatform;
  let mailDir = '';
  const clock = new ManualClock(T0);

  beforeAll(async () => {
    mailDir = await mkdtemp(path.join(tmpdir(), 'promo-reminders-'));
    p = await startTestPlatform({ clock, env: { EXPIRY_SWEEP_CRON: '0 0 0 1 1 *', MAIL_DIR: mailDir } });
  });
  afterAll(async () => {
    await p?.destroy();
    await rm(mailDir, { recursive: true, force: true });
  });

  async function sweepJob() {
    const queue = p.platform.queues.get('maintenance');
    const job = await queue.add('expiry.sweep', {});
    await waitFor(() => job.isCompleted());
    return (await queue.getJob(job.id as string))?.returnvalue;
  }

  it('reminds each published holder once, N days before expiry, through delivery', async () => {
    const created = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'Reminders' } });
    const c = created.body.id as string;
    await seedVouchers(p.platform.db, c, 30, { prefix: 'RM', expirationDate: days(10) });
    await seedVouchers(p.platform.db, c, 10, { prefix: 'RL', expirationDate: days(40) });
    // 20 expiring codes and 5 later ones are published to customers (the distribution issue's tables).
    await p.platform.db.query(
      `insert into customers (id, email) select 'cust-' || code, lower(code) || '@example.com' from vouchers
       where code between 'RM00000001' and 'RM00000020' or code between 'RL00000001' and 'RL00000005'`,
    );
    await p.platform.db.query(
      `insert into publications (campaign_id, voucher_id, code, customer_id)
       select campaign_id, id, code, 'cust-' || code from vouchers where code between 'RM00000001' and 'RM00000020' or code between 'RL00000001' and 'RL00000005'`,
    );
    const { rows } = await p.platform.db.query<{ id: string }>(
      `insert into message_templates (name, channel, subject, text) values ('expiring', 'email', 'Your code expires soon',
       'Hi, {{ voucher.code }} expires on {{ voucher.expiration_date }}.') returning id`,
    );
    const templateId = rows[0]?.id;

    const put = await p.call(`/v1/campaigns/${c}/expiry-reminder`, {
      method: 'PUT',
      json: { days_before: 3, channel: 'email', template_id: templateId },
    });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ campaign_id: c, days_before: 3, channel: 'email', template_id: templateId });
    expect((await p.call(`/v1/campaigns/${c}/expiry-reminder`)).body.days_before).toBe(3);
    expect((await p.call(`/v1/campaigns/${c}/expiry-reminder`, { method: 'PUT', json: { days_before: 0 } })).status).toBe(400);

    clock.set(days(6)); // 4 days before: too early
    expect(await sweepJob()).toMatchObject({ reminders: 0 });
    clock.set(days(7)); // exactly 3 days before
    expect(await sweepJob()).toMatchObject({ reminders: 20, vouchersExpired: 0 });
    clock.set(days(8));
    expect(await sweepJob()).toMatchObject({ reminders: 0 });

    const events = await p.platform.db.query(`select count(*)::int as n from outbox_events where type = 'voucher.expiring_soon'`);
    expect(events.rows[0]?.n).toBe(20);
    const deliveries = await p.platform.db.query(
      `select count(*)::int as n, count(distinct voucher_id)::int as d from deliveries where purpose = 'expiry_reminder'`,
    );
    expect(deliveries.rows[0]).toEqual({ n: 20, d: 20 });
    // Delivery sends them (no SMTP configured here: .eml files in MAIL_DIR).
    await waitFor(async () => {
      const sent = await p.platform.db.query(
        `select count(*)::int as n from deliveries where purpose = 'expiry_reminder' and status = 'sent'`,
      );
      return sent.rows[0]?.n === 20;
    });
    expect((await readdir(mailDir, { recursive: true })).filter((f) => String(f).endsWith('.eml'))).toHaveLength(20);

    // Expired codes are not reminded; the later ones are, in their own window.
    clock.set(days(38));
    expect(await sweepJob()).toMatchObject({ reminders: 5, vouchersExpired: 30 });
    expect((await p.call(`/v1/campaigns/${c}/expiry-reminder`, { method: 'DELETE' })).status).toBe(204);
    expect((await p.call(`/v1/campaigns/${c}/expiry-reminder`)).status).toBe(404);
  });
});
