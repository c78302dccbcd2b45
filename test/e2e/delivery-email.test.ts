import { describe, expect, it } from 'vitest';
import { queueMessage, sendDelivery } from '../../src/delivery/deliveries.ts';
import { reconcileLostWork } from '../../src/queues/reconcile.ts';
import { registry } from '../../src/shared/metrics.ts';
import { campaignWithCodes, emailTemplate, publishByEmail } from '../support/delivery-fixtures.ts';
import { useSmtpSink } from '../support/delivery-servers.ts';
import { useTestPlatform, waitFor } from '../support/platform.ts';
import { decodeQr } from '../support/qr.ts';

describe('email delivery through a real SMTP server', () => {
  const attemptsByAddress = new Map<string, number>();
  const sink = useSmtpSink({}, (address) => {
    const n = (attemptsByAddress.get(address) ?? 0) + 1;
    attemptsByAddress.set(address, n);
    if (address === 'flaky@example.com' && n <= 2) return { code: 451, message: 'Try again later' };
    if (address === 'nobody@example.com') return { code: 550, message: 'No such user' };
    return undefined;
  });
  const p = useTestPlatform(() => ({
    env: {
      GENERATION_CHUNK_SIZE: '1000',
      SMTP_URL: sink.url,
      MAIL_FROM: 'Shop <promo@shop.example>',
      MAIL_REPLY_TO: 'help@shop.example',
      DELIVERY_BACKOFF_MS: '100',
      DELIVERY_MAX_ATTEMPTS: '5',
    },
  }));

  const deliveryOf = async (publicationId: string) =>
    (await p.platform.db.query('select * from deliveries where publication_id = $1', [publicationId])).rows[0];
  const settled = (publicationId: string) =>
    waitFor(async () => {
      const d = await deliveryOf(publicationId);
      return d && d.status !== 'queued' ? d : undefined;
    });

  it('sends the right code to the right person, HTML escaped, with a plain-text part', async () => {
    const campaignId = await campaignWithCodes(p, 10);
    const templateId = await emailTemplate(p);
    const people = [
      { id: 'ada', email: 'ada@example.com', name: 'Ada <script>alert(1)</script>' },
      { id: 'bob', email: 'bob@example.com', name: 'Bob & Co' },
    ];
    const published = [];
    for (const customer of people) {
      const res = await p.call('/v1/publications', {
        method: 'POST',
        json: { campaign_id: campaignId, customer, channel: 'email', template_id: templateId },
      });
      expect(res.status).toBe(201);
      expect(res.body.delivery.status).toBe('queued');
      published.push(res.body);
    }
    for (const pub of published) expect(await settled(pub.id)).toMatchObject({ status: 'sent', error: null });
    for (const [i, customer] of people.entries()) {
      const mails = sink.received.filter((m) => m.to.includes(customer.email));
      expect(mails).toHaveLength(1);
      const mail = mails[0]?.parsed;
      const code = published[i].code as string;
      expect(mail?.text).toContain(`your code is ${code}`);
      expect(mail?.text).toContain(customer.name);
      expect(mail?.html).toContain(`<b>${code}</b>`);
      expect(mail?.subject).toBe(`Your code, ${customer.name}`);
      expect(mail?.from?.text).toContain('promo@shop.example');
      expect(mail?.replyTo?.text).toContain('help@shop.example');
      const d = await deliveryOf(published[i].id);
      if (!d) throw new Error('no delivery');
      expect(mail?.messageId).toBe(`<${d.id}@shop.example>`);
      expect(d.provider).toBe('smtp');
      expect(d.provider_message_id).toBe(mail?.messageId);
    }
    const adaHtml = sink.received.find((m) => m.to.includes('ada@example.com'))?.parsed.html as string;
    expect(adaHtml).toContain('Ada &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(adaHtml).not.toContain('<script>');
    const bobHtml = sink.received.find((m) => m.to.includes('bob@example.com'))?.parsed.html as string;
    expect(bobHtml).toContain('Bob &amp; Co');
    const metric = await registry.getSingleMetricAsString('promo_messages_total');
    expect(metric).toMatch(/promo_messages_total\{channel="email",outcome="sent"\} [1-9]/);
  });

  it('retries temporary SMTP refusals (4xx) with backoff and records permanent ones (5xx) without retrying', async () => {
    const campaignId = await campaignWithCodes(p, 10);
    const templateId = await emailTemplate(p);
    const flaky = await p.call('/v1/publications', {
      method: 'POST',
      json: { campaign_id: campaignId, customer: { id: 'flaky', email: 'flaky@example.com' }, channel: 'email', template_id: templateId },
    });
    const bad = await p.call('/v1/publications', {
      method: 'POST',
      json: { campaign_id: campaignId, customer: { id: 'nobody', email: 'nobody@example.com' }, channel: 'email', template_id: templateId },
    });
    const flakyDelivery = await settled(flaky.body.id);
    expect(flakyDelivery.status).toBe('sent');
    expect(flakyDelivery.attempts).toBe(3);
    expect(sink.received.filter((m) => m.to.includes('flaky@example.com'))).toHaveLength(1);

    const badDelivery = await settled(bad.body.id);
    expect(badDelivery.status).toBe('bounced');
    expect(badDelivery.error).toContain('550');
    expect(badDelivery.attempts).toBe(1);
    expect(attemptsByAddress.get('nobody@example.com')).toBe(1);
    const api = await p.call(`/v1/deliveries/${badDelivery.id}`);
    expect(api.body).toMatchObject({ status: 'bounced', channel: 'email', recipient: 'nobody@example.com' });
  });

  it('embeds the QR code inline in email, and it decodes back to the voucher code', async () => {
    const campaignId = await campaignWithCodes(p, 3);
    const templateId = await emailTemplate(p, {
      html: '<p>Show this at the till:</p><img alt="{{ voucher.code }}" src="{{ voucher.qr_url }}">',
    });
    const res = await publishByEmail(p, campaignId, templateId, { id: 'qr', email: 'qr@example.com', name: 'Q' });
    expect((await settled(res.body.id)).status).toBe('sent');
    const received = sink.received.find((m) => m.to.includes('qr@example.com'));
    const mail = received?.parsed;
    const image = mail?.attachments.find((a) => a.contentType === 'image/png');
    expect(image?.cid).toBeTruthy();
    // The HTML refers to the attachment by Content-ID (mailparser inlines it as a data: URI when parsing).
    expect(received?.raw.toString()).toContain(`src=3D"cid:${image?.cid}"`);
    expect(decodeQr(image?.content as Buffer)).toBe(res.body.code);
  });

  it('never resends a message already sent, resends once after an interrupted attempt, and never twice', async () => {
    const campaignId = await campaignWithCodes(p, 3);
    const templateId = await emailTemplate(p);
    const publishTo = async (id: string) => {
      const res = await p.call('/v1/publications', {
        method: 'POST',
        json: { campaign_id: campaignId, customer: { id, email: `${id}@example.com` }, channel: 'email', template_id: templateId },
      });
      return settled(res.body.id);
    };
    const count = (address: string) => sink.received.filter((m) => m.to.includes(address)).length;

    // The job runs again after success (duplicate job, retry after a lost ack): nothing is sent.
    const sent = await publishTo('twice');
    expect(await sendDelivery(p.platform, sent.id, { number: 1, max: 5 })).toBe('already_sent');
    expect(count('twice@example.com')).toBe(1);

    // A worker died after opening an attempt (the message may or may not have left): the next run resends once.
    const cut = await publishTo('cut');
    await p.platform.db.query(`update deliveries set status = 'queued', sending_started_at = now() - interval '1 hour' where id = $1`, [
      cut.id,
    ]);
    expect(await sendDelivery(p.platform, cut.id, { number: 1, max: 5 })).toBe('sent');
    const afterResend = (await p.platform.db.query('select * from deliveries where id = $1', [cut.id])).rows[0];
    expect(afterResend).toMatchObject({ status: 'sent', unconfirmed: 1 });
    expect(count('cut@example.com')).toBe(2);

    // Interrupted again: a third hand-over could make a second duplicate, so the delivery is failed with the reason.
    await p.platform.db.query(`update deliveries set status = 'queued', sending_started_at = now() - interval '1 hour' where id = $1`, [
      cut.id,
    ]);
    expect(await sendDelivery(p.platform, cut.id, { number: 1, max: 5 })).toBe('in_doubt_failed');
    const final = (await p.platform.db.query('select * from deliveries where id = $1', [cut.id])).rows[0];
    expect(final?.status).toBe('failed');
    expect(final?.error).toContain('at most one duplicate');
    expect(count('cut@example.com')).toBe(2);

    // An attempt still within its lease belongs to a live worker: this run backs off instead of sending.
    const live = await publishTo('live');
    await p.platform.db.query(`update deliveries set status = 'queued', sending_started_at = now() where id = $1`, [live.id]);
    await expect(sendDelivery(p.platform, live.id, { number: 1, max: 5 })).rejects.toThrow(/in flight/);
    expect(count('live@example.com')).toBe(1);
  });

  it('queueMessage rows whose job never got enqueued are picked up by the reconciler', async () => {
    const campaignId = await campaignWithCodes(p, 1);
    const templateId = await emailTemplate(p);
    const pub = await p.call('/v1/publications', { method: 'POST', json: { campaign_id: campaignId, customer: { id: 'stranded' } } });
    const voucher = await p.platform.db.query<{ id: string }>('select id from vouchers where code = $1', [pub.body.code]);
    // As another capability would (e.g. a reminder): record the message in its transaction, then crash before enqueuing.
    const queued = await p.platform.db.transaction((tx) =>
      queueMessage(tx, {
        channel: 'email',
        templateId,
        voucherId: voucher.rows[0]?.id as string,
        recipient: 'stranded@example.com',
        customerId: 'stranded',
        purpose: 'reminder',
      }),
    );
    const recreated = await reconcileLostWork(p.platform, { only: ['delivery.email'], missingForMs: 0 });
    expect(recreated.map((r) => r.rowId)).toContain(queued.id);
    const d = await waitFor(async () => {
      const row = (await p.platform.db.query('select * from deliveries where id = $1', [queued.id])).rows[0];
      return row?.status === 'sent' ? row : undefined;
    });
    expect(d.purpose).toBe('reminder');
    expect(sink.received.filter((m) => m.to.includes('stranded@example.com'))).toHaveLength(1);
  });
});
