import { describe, expect, it } from 'vitest';
import { useTestPlatform, waitFor } from '../support/platform.ts';

describe('HTTP foundation', () => {
  const p = useTestPlatform({ env: { GENERATION_CHUNK_SIZE: '500' } });

  it('answers health and readiness', async () => {
    expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${p.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('requires an API key: missing or wrong key is 401 problem+json', async () => {
    const missing = await fetch(`${p.url}/v1/campaigns`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(await missing.json()).toMatchObject({ status: 401, code: 'unauthorized' });
    const wrong = await p.call('/v1/campaigns', { headers: { authorization: 'Bearer pk_wrong' } });
    expect(wrong.status).toBe(401);
    const malformed = await p.call('/v1/campaigns', { headers: { authorization: 'Token abc' } });
    expect(malformed.status).toBe(401);
  });

  it('stores keys hashed, never in clear', async () => {
    const { rows } = await p.platform.db.query<{ key_hash: string }>('select key_hash from api_keys');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.key_hash).not.toContain(p.apiKey);
    }
  });

  it('bad input is 400 problem+json naming the offending fields', async () => {
    const res = await p.call('/v1/campaigns', { method: 'POST', json: { code_config: { length: 0, charset: '' }, extra: 1 } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 400, code: 'validation_failed', type: expect.any(String), title: 'Bad Request' });
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'code_config.length', 'code_config.charset']));

    const json = await p.call('/v1/campaigns', { method: 'POST', body: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(400);
    expect(json.body.code).toBe('invalid_json');

    const charset = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'x', code_config: { charset: 'a' } } });
    expect(charset.status).toBe(400);
    expect(charset.body.errors[0].field).toBe('code_config.charset');

    const campaign = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'ok' } });
    for (const count of [0, -1, 1.5, 'ten', 60_000_000]) {
      const gen = await p.call(`/v1/campaigns/${campaign.body.id}/generations`, { method: 'POST', json: { count } });
      expect(gen.status).toBe(400);
      expect(gen.body.errors[0].field).toBe('count');
    }
  });

  it('unknown campaign, generation, voucher or route is 404 problem+json', async () => {
    for (const path of [
      '/v1/campaigns/00000000-0000-0000-0000-000000000000',
      '/v1/campaigns/not-a-uuid',
      '/v1/campaigns/00000000-0000-0000-0000-000000000000/vouchers',
      '/v1/generations/00000000-0000-0000-0000-000000000000',
      '/v1/vouchers/NOPE-NOPE',
      '/v1/nothing-here',
    ]) {
      const res = await p.call(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const gen = await p.call('/v1/campaigns/00000000-0000-0000-0000-000000000000/generations', { method: 'POST', json: { count: 10 } });
    expect(gen.status).toBe(404);
    expect(gen.body.code).toBe('campaign_not_found');
  });

  it('lists vouchers with a cursor and finds one case-insensitively', async () => {
    const campaign = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'list', code_config: { prefix: 'LST-', length: 10 } } });
    const gen = await p.call(`/v1/campaigns/${campaign.body.id}/generations`, { method: 'POST', json: { count: 1200 } });
    await waitFor(async () => (await p.call(`/v1/generations/${gen.body.id}`)).body.status === 'completed');
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=500&cursor=${encodeURIComponent(cursor)}` : '?limit=500';
      const page = await p.call(`/v1/campaigns/${campaign.body.id}/vouchers${query}`);
      expect(page.status).toBe(200);
      for (const v of page.body.data) seen.add(v.code);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.size).toBe(1200);
    const code = [...seen][0] as string;
    const found = await p.call(`/v1/vouchers/${encodeURIComponent(` ${code.toLowerCase()} `)}`);
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ code, campaign_id: campaign.body.id, status: 'active' });
    const bad = await p.call(`/v1/campaigns/${campaign.body.id}/vouchers?cursor=garbage`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_cursor');
  });

  it('keeps Bull Board behind authentication', async () => {
    const open = await fetch(`${p.url}/admin/queues`);
    expect(open.status).toBe(401);
    expect(open.headers.get('www-authenticate')).toContain('Basic');
    const basic = Buffer.from(`admin:${p.apiKey}`).toString('base64');
    const authed = await fetch(`${p.url}/admin/queues/api/queues`, { headers: { authorization: `Basic ${basic}` } });
    expect(authed.status).toBe(200);
    const body = (await authed.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name)).toEqual(expect.arrayContaining(['generation', 'generation-chunk']));
  });
});
