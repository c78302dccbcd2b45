import { describe, expect, it } from 'vitest';
import { useTestPlatform } from '../support/platform.ts';

describe('templates', () => {
  const p = useTestPlatform({ workers: false, env: { PUBLIC_BASE_URL: 'https://promo.example' } });

  const create = (json: Record<string, unknown>) => p.call('/v1/templates', { method: 'POST', json });

  it('creates an email template and previews it for a sample customer, HTML escaped, text part raw', async () => {
    const res = await create({
      name: 'Welcome',
      channel: 'email',
      subject: 'Hi {{ customer.name }}',
      html: '<p>{{ customer.name }}: <b>{{ voucher.code }}</b> until {{ voucher.expiration_date | date: "%b %d" }} <img src="{{ voucher.qr_url }}"></p>',
      text: '{{ customer.name }}: {{ voucher.code }} ({{ customer.metadata.tier }})',
    });
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    const preview = await p.call(`/v1/templates/${res.body.id}/preview`, {
      method: 'POST',
      json: { customer: { name: 'Tom & "Jerry" <b>', metadata: { tier: 'gold' } }, voucher: { code: 'SUMMER-1234' } },
    });
    expect(preview.status).toBe(200);
    expect(preview.body.subject).toBe('Hi Tom & "Jerry" <b>');
    expect(preview.body.text).toBe('Tom & "Jerry" <b>: SUMMER-1234 (gold)');
    expect(preview.body.html).toContain('Tom &amp; &#34;Jerry&#34; &lt;b&gt;: <b>SUMMER-1234</b> until Dec 31');
    expect(preview.body.html).toContain('src="https://promo.example/v1/vouchers/SUMMER-1234/qr.png"');
    const sample = await p.call(`/v1/templates/${res.body.id}/preview`, {
      method: 'POST',
      json: { customer: { metadata: { tier: 'x' } } },
    });
    expect(sample.body.text).toContain('Alex Sample: SAMPLE-CODE');
  });

  it('rejects unknown variables and syntax errors at creation with 400 template_invalid', async () => {
    const unknown = await create({ name: 'x', channel: 'email', subject: 'Hi', text: 'Code {{ voucher.cod }} for {{ user.name }}' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('template_invalid');
    expect(unknown.body.errors[0]).toMatchObject({ field: 'text' });
    expect(unknown.body.errors[0].message).toContain('voucher.cod');
    expect(unknown.body.errors[0].message).toContain('user.name');
    const inHtml = await create({ name: 'x', channel: 'email', subject: 'Hi', html: '{{ secret }}', text: 'ok' });
    expect(inHtml.body.errors[0].field).toBe('html');
    const syntax = await create({ name: 'x', channel: 'sms', text: 'Code {{ voucher.code ' });
    expect(syntax.status).toBe(400);
    expect(syntax.body.code).toBe('template_invalid');
    const filter = await create({ name: 'x', channel: 'sms', text: '{{ voucher.code | nosuchfilter }}' });
    expect(filter.status).toBe(400);
    const noSubject = await create({ name: 'x', channel: 'email', text: 'hi' });
    expect(noSubject.status).toBe(400);
    expect(noSubject.body.errors[0].field).toBe('subject');
  });

  it('fails a render that meets a missing metadata key instead of sending a blank', async () => {
    const res = await create({ name: 'sms', channel: 'sms', text: 'Your code {{ voucher.code }} {{ customer.metadata.city }}' });
    expect(res.status).toBe(201);
    const preview = await p.call(`/v1/templates/${res.body.id}/preview`, { method: 'POST', json: {} });
    expect(preview.status).toBe(422);
    expect(preview.body.code).toBe('template_render_failed');
  });

  it('lists, reads and updates templates', async () => {
    const res = await create({ name: 'Reminder', channel: 'sms', text: 'Code {{ voucher.code }}' });
    const updated = await p.call(`/v1/templates/${res.body.id}`, {
      method: 'PUT',
      json: { name: 'Reminder 2', channel: 'sms', text: 'New {{ voucher.code }}' },
    });
    expect(updated.body).toMatchObject({ name: 'Reminder 2', text: 'New {{ voucher.code }}' });
    const preview = await p.call(`/v1/templates/${res.body.id}/preview`, { method: 'POST', json: {} });
    expect(preview.body.text).toBe('New SAMPLE-CODE');
    expect((await p.call(`/v1/templates/${res.body.id}`)).body.name).toBe('Reminder 2');
    expect((await p.call('/v1/templates')).body.data.length).toBeGreaterThan(0);
    expect((await p.call('/v1/templates/not-an-id')).status).toBe(404);
  });
});
