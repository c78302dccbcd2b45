import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailTemplate } from '../support/delivery-fixtures.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

/**
 * Walks every operation of the platform's own OpenAPI document (so a new route is fuzzed as soon as it is declared)
 * with malformed path ids, query values, bodies and content types, and fails on any 5xx. Bodies are the operation's
 * documented example mutated by fast-check; FUZZ_SEED replays a run.
 */

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const NUL = 'a\u0000b';
const LONE = 'a\ud800b';
const deepText = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const BAD_PATH = [
  'not-a-uuid',
  '%00',
  'a%00b',
  '%ED%A0%80',
  '%F0%9F%98%80',
  'x'.repeat(2_000),
  '..%2F..%2Fetc',
  '%20',
  '-1',
  '0',
  '%25',
  'null',
];
const BAD_QUERY = [
  '',
  'abc',
  '-1',
  '0',
  '1e999',
  '99999999999999999999999',
  '%00',
  '%ED%A0%80',
  'x'.repeat(5_000),
  '[]',
  '{}',
  'null',
  'true',
];
const NASTY_VALUES: unknown[] = [NUL, LONE, '', 'x'.repeat(20_000), -1, 0, 1e308, 2 ** 53 + 1, null, true, [], {}, [[[]]], { a: NUL }];
const RAW_BODIES = [
  'null',
  '[]',
  '"a string"',
  '0',
  'true',
  '{}',
  '{',
  '{"a":',
  deepText(10_000),
  `[${'['.repeat(20_000)}${']'.repeat(20_000)}]`,
  '{"a":"\\ud800"}',
  '{"\\u0000":1}',
];
const CONTENT_TYPES: [string, string | Uint8Array][] = [
  ['text/plain', 'hello'],
  ['application/xml', '<a/>'],
  ['application/x-www-form-urlencoded', 'a=1&b=2'],
  ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n'],
  ['application/json; charset=utf-16', '{"a":1}'],
  ['application/json', new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])],
  ['text/csv', 'email,name\n\u0000,\ud800\n'],
  ['application/octet-stream', new Uint8Array([0, 1, 2, 255])],
  ['application/merge-patch+json', '{"a":1}'],
];

const nasty = fc.oneof(fc.constantFrom(...NASTY_VALUES), fc.jsonValue({ maxDepth: 3 }), fc.string({ unit: 'binary', maxLength: 40 }));

/** Bodies made from an operation's example: fields replaced, dropped or added, or something else entirely. */
function bodies(example: unknown): unknown[] {
  const base = example && typeof example === 'object' && !Array.isArray(example) ? (example as Record<string, unknown>) : {};
  const keys = Object.keys(base);
  const mutated = fc.oneof(
    nasty,
    fc.dictionary(fc.string({ maxLength: 8 }), nasty, { maxKeys: 4 }),
    fc
      .tuple(fc.subarray(keys), fc.array(nasty, { minLength: keys.length, maxLength: keys.length }), fc.boolean())
      .map(([chosen, values, drop]) => {
        const body: Record<string, unknown> = { ...base };
        chosen.forEach((key, i) => {
          if (drop) delete body[key];
          else body[key] = values[i];
        });
        return body;
      }),
  );
  const perField = keys.flatMap((key) => NASTY_VALUES.map((value) => ({ ...base, [key]: value })));
  return [...perField, ...fc.sample(mutated, { numRuns: 16, seed: SEED })];
}

interface Attempt {
  method: string;
  url: string;
  contentType?: string;
  body?: string | Uint8Array;
}

describe('fuzzing every operation of the OpenAPI document', () => {
  let p: TestPlatform;
  let doc: { paths: Record<string, Record<string, any>> };
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    p = await startTestPlatform({
      workers: false,
      env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', GUESS_LIMIT: '1000000', PUBLIC_LINK_SECRET: 'fuzz-secret-fuzz-secret-fuzz-secret-00' },
    });
    doc = (await (await fetch(`${p.url}/openapi.json`)).json()) as typeof doc;
    // Real resources, so malformed input also reaches the code behind a valid id.
    ids.campaign = await createCampaign(p);
    ids.code = (await createVoucher(p, ids.campaign, uniqueCode('FUZZ'))).code;
    ids.template = await emailTemplate(p);
    ids.webhook = (await p.call('/v1/webhooks', { method: 'POST', json: { url: 'http://127.0.0.1:9/', events: ['*'] } })).body.id;
    ids.trigger = (await p.call(`/v1/campaigns/${ids.campaign}/triggers`, { method: 'POST', json: { event: 'order.created' } })).body.id;
    ids.generation = (await p.call(`/v1/campaigns/${ids.campaign}/generations`, { method: 'POST', json: { count: 5 } })).body.id;
    ids.redemption = (await p.call('/v1/redemptions', { method: 'POST', json: { code: ids.code } })).body.id;
    ids.publication = (
      await p.call('/v1/publications', { method: 'POST', json: { campaign_id: ids.campaign, customer: { id: 'f1' } } })
    ).body.id;
    ids.export = (await p.call(`/v1/campaigns/${ids.campaign}/exports`, { method: 'POST', json: {} })).body.id;
  });
  afterAll(async () => {
    await p?.destroy();
  });

  /** A path with its parameters filled: real ids where the fixtures have one, `bad` in place of parameter `name`. */
  function fill(path: string, bad?: { name: string; value: string }): string {
    const real: Record<string, string> = {
      '/v1/campaigns/{id}/triggers/{triggerId}': ids.trigger as string,
      '/v1/generations/': ids.generation as string,
      '/v1/redemptions/': ids.redemption as string,
      '/v1/publications/': ids.publication as string,
      '/v1/templates/': ids.template as string,
      '/v1/webhooks/': ids.webhook as string,
      '/v1/exports/': ids.export as string,
      '/v1/campaigns/': ids.campaign as string,
    };
    return path.replace(/\{([A-Za-z]+)\}/g, (_m, name: string) => {
      if (bad?.name === name) return bad.value;
      if (name === 'code') return encodeURIComponent(ids.code as string);
      if (name === 'triggerId') return ids.trigger as string;
      if (name === 'queue') return 'webhook';
      const prefix = Object.keys(real).find((k) => path.startsWith(k));
      // Ids the fixtures do not make (an API key: never revoke the test's own) are random.
      return prefix ? (real[prefix] as string) : crypto.randomUUID();
    });
  }

  function attempts(path: string, method: string, op: any): Attempt[] {
    const out: Attempt[] = [];
    const verb = method.toUpperCase();
    const params = (op.parameters ?? []) as { name: string; in: string }[];
    const url = fill(path);
    for (const { name } of params.filter((q) => q.in === 'path')) {
      for (const value of BAD_PATH) out.push({ method: verb, url: fill(path, { name, value }) });
    }
    for (const { name } of params.filter((q) => q.in === 'query')) {
      for (const value of BAD_QUERY) out.push({ method: verb, url: `${url}?${name}=${value}` });
      out.push({ method: verb, url: `${url}?${name}=1&${name}=2` }, { method: verb, url: `${url}?${name}[a]=1` });
    }
    const json = op.requestBody?.content?.['application/json'];
    if (json || ['POST', 'PUT', 'PATCH'].includes(verb)) {
      const send = (body: string | Uint8Array, contentType = 'application/json') => out.push({ method: verb, url, contentType, body });
      for (const body of RAW_BODIES) send(body);
      for (const body of bodies(json?.example)) send(JSON.stringify(body) ?? 'null');
      for (const [contentType, body] of CONTENT_TYPES) send(body, contentType);
      send(JSON.stringify({ ...(json?.example ?? {}), padding: 'x'.repeat(2 * 1024 * 1024) }));
    }
    return out;
  }

  it('answers every malformed request with a 4xx (or a 2xx/3xx), never a 5xx', async () => {
    const operations = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })))
      // Deleting last, so the fixtures stay for the others.
      .sort((a, b) => Number(a.method === 'delete') - Number(b.method === 'delete'));
    expect(operations.length).toBeGreaterThan(60);
    const all = operations.flatMap(({ path, method, op }) => attempts(path, method, op));
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < all.length; i = next++) {
        const a = all[i] as Attempt;
        const headers: Record<string, string> = { authorization: `Bearer ${p.apiKey}` };
        if (a.contentType) headers['content-type'] = a.contentType;
        const res = await fetch(`${p.url}${a.url}`, { method: a.method, headers, body: a.body, redirect: 'manual' });
        const text = await res.text();
        if (res.status >= 500) {
          const sent = typeof a.body === 'string' ? a.body.slice(0, 120) : a.body ? `<${a.body.length} bytes>` : '';
          failures.push(`${a.method} ${a.url.slice(0, 160)} [${a.contentType ?? '-'}] ${sent} → ${res.status} ${text.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(all.length).toBeGreaterThan(2_000);
    expect(failures, `FUZZ_SEED=${SEED}`).toEqual([]);
    // Thousands of requests, growing with every operation the document gains: more than the default minute.
  }, 180_000);
});
