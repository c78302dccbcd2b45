import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { sendDelivery } from '../../src/delivery/deliveries.ts';
import { SendFailure } from '../../src/delivery/outcome.ts';
import { normalizePhone } from '../../src/delivery/phone.ts';
import { HttpGatewayProvider } from '../../src/delivery/sms.ts';
import { campaignWithCodes } from '../support/delivery-fixtures.ts';
import { useFakeTwilio } from '../support/delivery-servers.ts';
import { useTestPlatform, waitFor } from '../support/platform.ts';

describe('SMS delivery', () => {
  const seen = new Map<string, number>();
  const twilio = useFakeTwilio((to) => {
    const n = (seen.get(to) ?? 0) + 1;
    seen.set(to, n);
    if (to === '+14155550000') return { status: 400, code: 21211, message: "The 'To' number is not a valid phone number." };
    if (to === '+442071838750' && n === 1) return { status: 503, code: 20503, message: 'Service unavailable' };
    return undefined;
  });
  const p = useTestPlatform(() => ({
    env: {
      GENERATION_CHUNK_SIZE: '1000',
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000001',
      TWILIO_AUTH_TOKEN: 'secret-token',
      TWILIO_API_BASE_URL: twilio.url,
      SMS_FROM: '+15005550006',
      SMS_DEFAULT_COUNTRY: 'US',
      DELIVERY_BACKOFF_MS: '100',
      SMS_RATE_MAX: '7',
      SMS_RATE_DURATION_MS: '2000',
    },
  }));

  const settled = (publicationId: string) =>
    waitFor(async () => {
      const { rows } = await p.platform.db.query('select * from deliveries where publication_id = $1', [publicationId]);
      return rows[0] && rows[0].status !== 'queued' ? rows[0] : undefined;
    });

  const smsTemplate = async (text: string): Promise<string> =>
    (await p.call('/v1/templates', { method: 'POST', json: { name: 'sms', channel: 'sms', text } })).body.id;
  const publishBySms = (campaignId: string, templateId: string, customer: Record<string, string>) =>
    p.call('/v1/publications', { method: 'POST', json: { campaign_id: campaignId, customer, channel: 'sms', template_id: templateId } });

  it('normalizes numbers to E.164 and sends through the official Twilio library to its Messages API', async () => {
    const campaignId = await campaignWithCodes(p, 10);
    const template = await smsTemplate('Hi {{ customer.name }}, code {{ voucher.code }}');
    const res = await publishBySms(campaignId, template, { id: 'sms-1', phone: '(415) 555-2671', name: 'Sam' });
    expect(res.status).toBe(201);
    const d = await settled(res.body.id);
    expect(d).toMatchObject({ status: 'sent', provider: 'twilio', recipient: '+14155552671' });
    const request = twilio.requests.find((r) => r.form.get('To') === '+14155552671');
    expect(request?.accountSid).toBe('AC00000000000000000000000000000001');
    expect(request?.auth).toBe(`Basic ${Buffer.from('AC00000000000000000000000000000001:secret-token').toString('base64')}`);
    expect(request?.form.get('From')).toBe('+15005550006');
    expect(request?.form.get('Body')).toBe(`Hi Sam, code ${res.body.code}`);
    expect(d.provider_message_id).toMatch(/^SM[0-9]{32}$/);
    const customer = await p.platform.db.query('select phone from customers where id = $1', ['sms-1']);
    expect(customer.rows[0]?.phone).toBe('+14155552671');
  });

  it('retries Twilio 5xx, records a rejected number as bounced without retrying', async () => {
    const campaignId = await campaignWithCodes(p, 10);
    const template = await smsTemplate('{{ voucher.code }}');
    const flaky = await publishBySms(campaignId, template, { id: 'uk', phone: '+44 20 7183 8750' });
    const bad = await publishBySms(campaignId, template, { id: 'bad', phone: '+1 415 555 0000' });
    expect(bad.status).toBe(201);
    expect(await settled(flaky.body.id)).toMatchObject({ status: 'sent', attempts: 2 });
    const bounced = await settled(bad.body.id);
    expect(bounced).toMatchObject({ status: 'bounced', attempts: 1 });
    expect(bounced.error).toContain('21211');
    expect(seen.get('+14155550000')).toBe(1);
  });

  it('after a crash between hand-over and record, asks Twilio before resending and finds the message sent', async () => {
    const campaignId = await campaignWithCodes(p, 3);
    const template = await smsTemplate('Code {{ voucher.code }}');
    const res = await publishBySms(campaignId, template, { id: 'crash', phone: '+1 212 555 0199' });
    const first = await settled(res.body.id);
    expect(first.status).toBe('sent');
    const posts = twilio.requests.length;
    // The worker handed the message over, then died before recording it: the attempt is still open.
    await p.platform.db.query(
      `update deliveries set status = 'queued', provider_message_id = null, sending_started_at = now() - interval '1 hour' where id = $1`,
      [first.id],
    );
    expect(await sendDelivery(p.platform, first.id, { number: 1, max: 5 })).toBe('sent');
    expect(twilio.requests.length).toBe(posts);
    const after = (await p.platform.db.query('select * from deliveries where id = $1', [first.id])).rows[0];
    expect(after).toMatchObject({ status: 'sent', provider_message_id: first.provider_message_id, unconfirmed: 1 });
  });

  it("limits the provider's send rate with BullMQ's limiter on the channel's queue", () => {
    const sms = p.workers?.workers.find((w) => w.name === 'delivery-sms');
    expect(sms?.opts.limiter).toEqual({ max: 7, duration: 2000 });
    const email = p.workers?.workers.find((w) => w.name === 'delivery-email');
    expect(email?.opts.limiter).toEqual({ max: 1000, duration: 1000 });
  });

  it('normalizePhone reads national numbers in the default country and rejects junk', () => {
    expect(normalizePhone('020 7183 8750', 'GB')).toBe('+442071838750');
    expect(normalizePhone('+1 (415) 555-2671', 'GB')).toBe('+14155552671');
    expect(normalizePhone('12', 'US')).toBeNull();
    expect(normalizePhone('not a number', 'US')).toBeNull();
  });

  it('the generic HTTP gateway sends the configured method, auth header and body template', async () => {
    const received: { method?: string; auth?: string; body: string }[] = [];
    let fail = 0;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ method: req.method, auth: req.headers['x-api-key'] as string, body });
        if (fail > 0) {
          fail--;
          res.writeHead(fail === 0 ? 422 : 502).end('nope');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: { message_id: 'gw-77' } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`;
    const provider = new HttpGatewayProvider(
      loadConfig({
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: url,
        SMS_HTTP_METHOD: 'PUT',
        SMS_HTTP_AUTH_HEADER: 'X-Api-Key: k-123',
        SMS_FROM: 'PROMO',
        SMS_HTTP_MESSAGE_ID_FIELD: 'result.message_id',
      }),
    );
    const sent = await provider.send({ to: '+14155552671', body: 'Code "A\nB"', reference: 'ref-1' });
    expect(sent.providerMessageId).toBe('gw-77');
    expect(received[0]).toMatchObject({ method: 'PUT', auth: 'k-123' });
    expect(JSON.parse(received[0]?.body as string)).toEqual({ to: '+14155552671', from: 'PROMO', text: 'Code "A\nB"' });
    fail = 2;
    const temporary = await provider.send({ to: '+14155552671', body: 'x', reference: 'ref-2' }).catch((e: SendFailure) => e);
    expect(temporary).toBeInstanceOf(SendFailure);
    expect((temporary as SendFailure).kind).toBe('temporary');
    const permanent = await provider.send({ to: '+14155552671', body: 'x', reference: 'ref-3' }).catch((e: SendFailure) => e);
    expect((permanent as SendFailure).kind).toBe('permanent');
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
