import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignWithCodes, emailTemplate } from '../support/delivery-fixtures.ts';
import { type SmtpSink, startSmtpSink } from '../support/delivery-servers.ts';
import { spawnEntrypoint, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';

function messageIdOf(raw: Buffer): string {
  return /^Message-ID:\s*(<[^>]+>)/im.exec(raw.toString('latin1'))?.[1] ?? '';
}

describe('bulk distributions', () => {
  let p: TestPlatform;
  let sink: SmtpSink;
  const children: ChildProcess[] = [];
  const workerEnv = { LOG_LEVEL: 'silent' };

  const startWorker = () => {
    const child = spawnEntrypoint('worker', p.isolation, workerEnv);
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    sink = await startSmtpSink({ parse: false });
    p = await startTestPlatform({
      workers: false,
      env: {
        SMTP_URL: sink.url,
        MAIL_FROM: 'promo@shop.example',
        GENERATION_CHUNK_SIZE: '1000',
        DISTRIBUTION_CHUNK_SIZE: '50',
        // Slow enough that the kill lands mid-distribution; short lease and lock so the restart picks up fast.
        EMAIL_RATE_MAX: '100',
        EMAIL_RATE_DURATION_MS: '1000',
        DELIVERY_SEND_LEASE_MS: '1500',
        WORKER_LOCK_DURATION_MS: '2000',
        DELIVERY_BACKOFF_MS: '200',
      },
    });
    startWorker();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await p?.destroy();
    await sink?.close();
  });

  it('a worker killed mid-distribution and restarted leaves every recipient with exactly one message', async () => {
    const campaignId = await campaignWithCodes(p, 450);
    const templateId = await emailTemplate(p, { subject: 'Code for {{ customer.id }}', text: '{{ customer.id }} {{ voucher.code }}' });
    const recipients = Array.from({ length: 400 }, (_, i) => ({ email: `r${i}@example.com`, name: `R ${i}`, customer_id: `cust-${i}` }));
    // Five customers named twice, one row with no email (invalid for the email channel).
    const list = [...recipients, ...recipients.slice(0, 5), { customer_id: 'no-email', phone: '+14155552671' }];
    const res = await p.call(`/v1/campaigns/${campaignId}/distributions`, {
      method: 'POST',
      headers: { 'idempotency-key': 'spring-mailing' },
      json: { channel: 'email', template_id: templateId, recipients: list },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ total: 406, job_id: `dist-${res.body.id}` });
    expect(['queued', 'running', 'delivering']).toContain(res.body.status);

    const replay = await p.call(`/v1/campaigns/${campaignId}/distributions`, {
      method: 'POST',
      headers: { 'idempotency-key': 'spring-mailing' },
      json: { channel: 'email', template_id: templateId, recipients: list },
    });
    expect(replay.body.id).toBe(res.body.id);

    await waitFor(async () => sink.received.length >= 100, 60_000, 20);
    const victim = children[0] as ChildProcess;
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));
    const atKill = sink.received.length;
    expect(atKill).toBeLessThan(400);
    startWorker();

    const done = await waitFor(
      async () => {
        const d = (await p.call(`/v1/distributions/${res.body.id}`)).body;
        return d.status === 'completed' ? d : undefined;
      },
      80_000,
      250,
    );
    expect(done.counts).toMatchObject({
      total: 406,
      published: 400,
      sent: 400,
      queued: 0,
      failed: 0,
      skipped: 5,
      invalid: 1,
      exhausted: 0,
    });
    expect(done.progress).toBe(1);

    // Per recipient: exactly one message (one Message-ID: the delivery's), and each carries that recipient's own code.
    const { rows } = await p.platform.db.query<{ customer_id: string; code: string; id: string; unconfirmed: number }>(
      'select p.customer_id, p.code, d.id, d.unconfirmed from publications p join deliveries d on d.publication_id = p.id where p.distribution_id = $1',
      [res.body.id],
    );
    expect(rows).toHaveLength(400);
    const byAddress = new Map<string, Buffer[]>();
    for (const m of sink.received) for (const to of m.to) byAddress.set(to, [...(byAddress.get(to) ?? []), m.raw]);
    let duplicates = 0;
    for (const row of rows) {
      const mails = byAddress.get(`r${row.customer_id.slice(5)}@example.com`) ?? [];
      const ids = new Set(mails.map(messageIdOf));
      expect(ids.size).toBe(1);
      expect([...ids][0]).toBe(`<${row.id}@shop.example>`);
      expect(mails[0]?.toString()).toContain(`${row.customer_id} ${row.code}`);
      // A resend is possible only for an attempt cut off by the kill, and then at most once.
      expect(mails.length).toBeLessThanOrEqual(1 + row.unconfirmed);
      duplicates += mails.length - 1;
    }
    expect(byAddress.has('no-email')).toBe(false);
    expect(duplicates).toBeLessThanOrEqual(rows.filter((r) => r.unconfirmed > 0).length);
    expect(new Set(rows.map((r) => r.code)).size).toBe(400);
  });

  it('accepts a streamed CSV upload with any extra columns as metadata', async () => {
    const campaignId = await campaignWithCodes(p, 130);
    const templateId = await emailTemplate(p, {
      subject: 'Hi',
      text: '{{ customer.name }} {{ customer.metadata.city }} {{ voucher.code }}',
    });
    const lines = ['email,name,city,customer_id'];
    for (let i = 0; i < 120; i++) lines.push(`csv${i}@example.com,"Name, ${i}",City${i},`);
    const res = await p.api(`/v1/campaigns/${campaignId}/distributions?channel=email&template_id=${templateId}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: `${lines.join('\n')}\n`,
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; total: number };
    expect(body.total).toBe(120);
    const done = await waitFor(async () => {
      const d = (await p.call(`/v1/distributions/${body.id}`)).body;
      return d.status === 'completed' ? d : undefined;
    }, 60_000);
    expect(done).toMatchObject({ published: 120, sent: 120, failed: 0 });
    const mail = sink.received.find((m) => m.to.includes('csv7@example.com'));
    expect(mail?.raw.toString()).toContain('Name, 7 City7');
    const customer = await p.platform.db.query('select * from customers where id = $1', ['email:csv7@example.com']);
    expect(customer.rows[0]?.metadata).toEqual({ city: 'City7' });
  });

  it('refuses bad distributions: unknown template 404, wrong channel template 400, too many inline recipients 400', async () => {
    const campaignId = await campaignWithCodes(p, 0);
    const sms = await p.call('/v1/templates', { method: 'POST', json: { name: 's', channel: 'sms', text: '{{ voucher.code }}' } });
    const wrong = await p.call(`/v1/campaigns/${campaignId}/distributions`, {
      method: 'POST',
      json: { channel: 'email', template_id: sms.body.id, recipients: [{ email: 'a@example.com' }] },
    });
    expect(wrong.status).toBe(400);
    const missing = await p.call(`/v1/campaigns/${campaignId}/distributions`, {
      method: 'POST',
      json: { channel: 'email', template_id: '00000000-0000-4000-8000-000000000000', recipients: [{ email: 'a@example.com' }] },
    });
    expect(missing.status).toBe(404);
    const tooMany = await p.call(`/v1/campaigns/${campaignId}/distributions`, {
      method: 'POST',
      json: {
        channel: 'email',
        template_id: sms.body.id,
        recipients: Array.from({ length: 10_001 }, (_, i) => ({ email: `x${i}@example.com` })),
      },
    });
    expect(tooMany.status).toBe(400);
    expect((await p.call('/v1/distributions/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
