import { beforeAll, describe, expect, it } from 'vitest';
import { METADATA_MAX_BYTES, METADATA_MAX_DEPTH } from '../../src/shared/storable.ts';
import { emailTemplate } from '../support/delivery-fixtures.ts';
import { useTestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

const NUL = 'a\u0000b';
const LONE = 'a\ud800b';

/** `{"a":{"a":…1…}}`, `depth` objects deep, as text (JSON.stringify of it would overflow the stack we are testing). */
function deepObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

describe('input PostgreSQL cannot store is refused at validation', () => {
  const p = useTestPlatform({ workers: false, env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', GUESS_LIMIT: '100000' } });
  let campaign: string;
  let code: string;
  let template: string;
  beforeAll(async () => {
    campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: null } } });
    code = (await createVoucher(p, campaign, uniqueCode('POISON'))).code;
    template = await emailTemplate(p);
  });

  async function refused(path: string, init: RequestInit & { json?: unknown }, field: string) {
    const res = await p.call(path, init);
    expect(res.status, `${init.method ?? 'GET'} ${path}: ${JSON.stringify(res.body)}`).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    return res.body;
  }

  it('refuses U+0000 and lone surrogates in strings, names, reasons, templates, descriptions and customer fields', async () => {
    for (const bad of [NUL, LONE]) {
      await refused('/v1/campaigns', { method: 'POST', json: { name: bad } }, 'name');
      await refused(`/v1/vouchers/${code}/disable`, { method: 'POST', json: { reason: bad } }, 'reason');
      await refused('/v1/templates', { method: 'POST', json: { name: 'T', channel: 'sms', text: bad } }, 'text');
      await refused(
        `/v1/templates/${template}`,
        { method: 'PUT', json: { name: 'T', channel: 'email', subject: bad, text: 'x' } },
        'subject',
      );
      await refused(
        '/v1/webhooks',
        { method: 'POST', json: { url: 'http://127.0.0.1:9/', events: ['*'], description: bad } },
        'description',
      );
      await refused(
        '/v1/publications',
        { method: 'POST', json: { campaign_id: campaign, customer: { id: 'c1', name: bad } } },
        'customer.name',
      );
      await refused('/v1/validations', { method: 'POST', json: { code: bad } }, 'code');
      await refused('/v1/redemptions', { method: 'POST', json: { code, customer: { id: bad } } }, 'customer.id');
      await refused(
        '/v1/events',
        { method: 'POST', json: { type: 'order.created', customer: { id: 'c1' }, data: { note: bad } } },
        'data.note',
      );
    }
    const body = await refused('/v1/campaigns', { method: 'POST', json: { name: NUL } }, 'name');
    expect(body.errors[0].message).toContain('U+0000');
  });

  it('refuses them in metadata keys and values, at any depth', async () => {
    await refused('/v1/campaigns', { method: 'POST', json: { name: 'M', metadata: { note: NUL } } }, 'metadata.note');
    await refused('/v1/campaigns', { method: 'POST', json: { name: 'M', metadata: { tags: ['ok', LONE] } } }, 'metadata.tags.1');
    await refused(`/v1/vouchers/${code}`, { method: 'PATCH', json: { metadata: { [`k${NUL}`]: 1 } } }, 'metadata.ka\\0b');
    await refused('/v1/redemptions', { method: 'POST', json: { code, metadata: { deep: { er: LONE } } } }, 'metadata.deep.er');
  });

  it('refuses them in path ids and query parameters', async () => {
    await refused('/v1/campaigns/%00', {}, 'id');
    await refused(`/v1/vouchers/${code}%00`, {}, 'code');
    await refused('/v1/webhooks/a%00b/deliveries', {}, 'id');
    await refused('/v1/redemptions?customer_id=%00', {}, 'customer_id');
    await refused('/v1/vouchers?cursor=x%00', {}, 'cursor');
    await refused(`/v1/campaigns/${campaign}/stats?timezone=Europe%00`, {}, 'timezone');
  });

  it('refuses metadata nested or sized past the limits, before anything recursive runs', async () => {
    const post = (body: string, path = '/v1/campaigns', headers: Record<string, string> = {}) =>
      p.call(path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    for (const depth of [10_000, 100_000]) {
      const res = await post(`{"name":"deep","metadata":${deepObject(depth)}}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors[0].field).toMatch(/^metadata\.a\.a/);
    }
    // The idempotency canonicalizer and the redemption's JSON never see it either.
    const redemption = await post(`{"code":"${code}","metadata":${deepObject(10_000)}}`, '/v1/redemptions', {
      'idempotency-key': 'deep-1',
    });
    expect(redemption.status).toBe(400);
    expect((await post(`[${'['.repeat(50_000)}${']'.repeat(50_000)}]`)).status).toBe(400);

    await refused('/v1/campaigns', { method: 'POST', json: { name: 'M', metadata: nested(METADATA_MAX_DEPTH + 1) } }, 'metadata');
    const large = { blob: 'x'.repeat(METADATA_MAX_BYTES) };
    await refused('/v1/campaigns', { method: 'POST', json: { name: 'M', metadata: large } }, 'metadata');
    await refused(`/v1/vouchers/${code}`, { method: 'PATCH', json: { metadata: large } }, 'metadata');
    // At the limits, accepted and stored as given.
    const atLimits = await p.call('/v1/campaigns', {
      method: 'POST',
      json: { name: 'M', metadata: { ...nested(METADATA_MAX_DEPTH), blob: 'x'.repeat(METADATA_MAX_BYTES - 500) } },
    });
    expect(atLimits.status).toBe(201);
    expect(atLimits.body.metadata.blob).toHaveLength(METADATA_MAX_BYTES - 500);
  });

  it('answers 404 for a path id that cannot exist, never 500', async () => {
    const res = await p.call('/v1/campaigns/not-a-uuid/triggers/00000000-0000-4000-8000-000000000000', { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('campaign_not_found');
    const trigger = await p.call(`/v1/campaigns/${campaign}/triggers/not-a-uuid`, { method: 'DELETE' });
    expect(trigger.status).toBe(404);
    expect(trigger.body.code).toBe('trigger_not_found');
  });

  it('refuses a CSV upload holding U+0000 with 400 csv_invalid naming the line', async () => {
    const res = await p.call(`/v1/campaigns/${campaign}/distributions?channel=email&template_id=${template}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: `email,name\nada@example.com,Ada\nbob@example.com,B${'\u0000'}ob\n`,
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('csv_invalid');
    expect(res.body.errors[0].field).toBe('line 3.name');
  });

  it('a poisoned validation never fails the valid ones beside it (20 rounds of 20 + 1 in parallel)', async () => {
    let failures = 0;
    let poisonedRefused = 0;
    for (let round = 0; round < 20; round++) {
      const valid = Array.from({ length: 20 }, () => p.call('/v1/validations', { method: 'POST', json: { code } }));
      const poisoned = p.call('/v1/validations', { method: 'POST', json: { code: `${code}\u0000` } });
      const [answers, poison] = await Promise.all([Promise.all(valid), poisoned]);
      failures += answers.filter((a) => a.status !== 200 || a.body.valid !== true).length;
      if (poison.status === 400 && poison.body.errors[0].field === 'code') poisonedRefused++;
    }
    expect(failures).toBe(0);
    expect(poisonedRefused).toBe(20);
  });
});
