import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { type Running, run } from '../../src/main/runtime.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { apiCall, dropIsolation, type Isolation, isolation } from '../support/platform.ts';

const lines: Record<string, any>[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
    done();
  },
});

/** One series' value in a Prometheus text exposition (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('API key authentication', () => {
  let iso: Isolation;
  let running: Running;
  let url: string;
  let standardKey: string;
  let standardKeyId: string;
  beforeAll(async () => {
    iso = isolation({ LOG_LEVEL: 'warn' });
    running = await run(loadConfig(iso.env), { api: true, workers: false, logger: createLogger('warn', sink) });
    url = running.url as string;
    const created = await createApiKey(running.platform.db, { name: 'checkout-without-xff', role: 'standard' });
    standardKey = created.key;
    standardKeyId = created.record.id;
  });
  afterAll(async () => {
    await running?.stop();
    if (iso) await dropIsolation(iso);
  });

  const withHeader = (authorization: string) => fetch(`${url}/v1/campaigns`, { headers: { authorization } });

  it('accepts exactly `scheme credentials` and refuses anything after the key with 401 problem+json', async () => {
    expect((await withHeader(`Bearer ${iso.apiKey}`)).status).toBe(200);
    expect((await withHeader(`bearer  ${iso.apiKey}`)).status).toBe(200);
    const basic = Buffer.from(`promo:${iso.apiKey}`).toString('base64');
    expect((await withHeader(`Basic ${basic}`)).status).toBe(200);

    for (const header of [
      `Bearer ${iso.apiKey} junk`,
      `Bearer ${iso.apiKey} ${iso.apiKey}`,
      `Bearer ${iso.apiKey}\tjunk`,
      `Bearer ${iso.apiKey},junk=1 x`,
      `Bearer`,
      `Token ${iso.apiKey}`,
      `Basic ${basic} junk`,
      `Basic ${Buffer.from('promo:').toString('base64')}`,
      `Basic not*base64`,
      `${iso.apiKey}`,
    ]) {
      const res = await withHeader(header);
      expect(res.status, header).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      const body = await res.json();
      expect(body).toMatchObject({ status: 401, code: 'unauthorized' });
      expect(JSON.stringify(body)).not.toContain(iso.apiKey);
    }
    const malformed = (await (await withHeader(`Bearer ${iso.apiKey} junk`)).json()) as { detail: string };
    expect(malformed.detail).toContain('nothing after the key');
  });

  it('serves /metrics on the API port to admin keys only', async () => {
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const standard = await apiCall(url, standardKey, '/metrics');
    expect(standard.status).toBe(403);
    expect(standard.body).toMatchObject({ code: 'forbidden' });
    const admin = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${iso.apiKey}` } });
    expect(admin.status).toBe(200);
    expect(await admin.text()).toContain('# TYPE promo_validations_without_shopper_total counter');
  });

  it('counts validations without a shopper per API key and warns once per key', async () => {
    const scrape = async () => (await apiCall(url, iso.apiKey, '/metrics')).body as string;
    const before = await scrape();
    const validate = (json: Record<string, unknown>, headers: Record<string, string> = {}) =>
      apiCall(url, standardKey, '/v1/validations', { method: 'POST', json, headers });
    for (let i = 0; i < 3; i++) expect((await validate({ code: `NOBODY-${i}` })).status).toBe(200);
    // With the shopper's IP or a customer the defence applies: neither is counted nor warned about.
    expect((await validate({ code: 'WITH-IP' }, { 'X-Forwarded-For': '203.0.113.9' })).status).toBe(200);
    expect((await validate({ code: 'WITH-CUSTOMER', customer: { id: 'c-1' } })).status).toBe(200);
    // Another key without a shopper is warned about on its own.
    expect((await apiCall(url, iso.apiKey, '/v1/validations', { method: 'POST', json: { code: 'ADMIN-NOBODY' } })).status).toBe(200);

    const after = await scrape();
    const delta = (apiKey: string) =>
      sample(after, 'promo_validations_without_shopper_total', { api_key: apiKey }) -
      sample(before, 'promo_validations_without_shopper_total', { api_key: apiKey });
    expect(delta(standardKeyId)).toBe(3);
    const adminKeyId = (await running.platform.db.query<{ id: string }>(`select id from api_keys where name = 'bootstrap'`)).rows[0]?.id;
    expect(delta(adminKeyId as string)).toBe(1);

    const warnings = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('validation without a shopper'));
    expect(warnings.map((w) => w.apiKeyId).sort()).toEqual([standardKeyId, adminKeyId].sort());
    expect(warnings.find((w) => w.apiKeyId === standardKeyId)).toMatchObject({
      level: 40,
      apiKeyName: 'checkout-without-xff',
      header: 'x-forwarded-for',
    });
  });
});
