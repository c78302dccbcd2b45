import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../src/shared/paging.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

describe('cursor paging (one helper for every list route)', () => {
  let p: TestPlatform;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    p = await startTestPlatform({ workers: false, env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    ids.campaign = await createCampaign(p);
    ids.code = (await createVoucher(p, ids.campaign, uniqueCode('PAGE'))).code;
    ids.webhook = (await p.call('/v1/webhooks', { method: 'POST', json: { url: 'http://127.0.0.1:9/', events: ['*'] } })).body.id;
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('pages campaigns newest first without skipping or repeating one created in the same millisecond', async () => {
    const created = [ids.campaign as string];
    for (let i = 0; i < 6; i++) created.push(await createCampaign(p, { name: `Paged ${i}` }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { id: string }[]; next_cursor: string | null } } = await p.call(
        `/v1/campaigns?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.data.map((c) => c.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(created.length);
    expect(new Set(seen)).toEqual(new Set(created));
    const all = (await p.call('/v1/campaigns?limit=100')).body;
    expect(all.data.map((c: { id: string }) => c.id)).toEqual(seen);
    expect(all.next_cursor).toBeNull();
  });

  it('refuses a cursor it did not make with 400 invalid_cursor on every list route that takes one', async () => {
    const doc = (await (await fetch(`${p.url}/openapi.json`)).json()) as { paths: object };
    const paged = Object.entries(doc.paths as Record<string, Record<string, { parameters?: { name: string }[] }>>).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.parameters?.some((q) => q.name === 'cursor'))
        .map(([method]) => ({ method, path })),
    );
    expect(paged.length).toBeGreaterThanOrEqual(6);
    // Shapes no list's key has: a bare fraction (keys are text, serials as text, or a time and an id), three parts.
    // (A one-string key such as ["not a number"] is a well-formed cursor for lists keyed by text, like customers.)
    const wrongShapes = ['junk', '%00', 'x'.repeat(600), encodeCursor([12.5]), encodeCursor([1, 2, 3]), 'W10', 'bnVsbA'];
    for (const { method, path } of paged) {
      const url = path
        .replace('{code}', encodeURIComponent(ids.code as string))
        .replace('{id}', path.startsWith('/v1/webhooks') ? (ids.webhook as string) : (ids.campaign as string));
      for (const cursor of wrongShapes) {
        const res = await p.call(`${url}?cursor=${cursor}`, { method: method.toUpperCase() });
        expect(res.status, `${method} ${url}?cursor=${cursor}`).toBe(400);
        expect(res.body.code, `${method} ${url}?cursor=${cursor}`).toBe(
          cursor === 'x'.repeat(600) || cursor === '%00' ? 'validation_failed' : 'invalid_cursor',
        );
        expect(res.body.errors[0].field).toBe('cursor');
      }
    }
  });
});
