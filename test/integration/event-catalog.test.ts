import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/sql.ts';
import { EVENT_CATALOG, eventEnvelopeSchema } from '../../src/events/catalog.ts';
import { emitEvent, emitEvents, outboxInsertSql } from '../../src/events/outbox.ts';
import { businessEventPayload } from '../support/events.ts';
import { ROOT, startTestPlatform, type TestPlatform } from '../support/platform.ts';

/** Never called: the type checker (npm run typecheck) proves these do not compile. */
function _eventsTheCatalogueRefuses(tx: Queryable) {
  // @ts-expect-error: not a type of the catalogue (the lifecycle log says `redeemed`; the event is voucher.redemption.succeeded)
  void emitEvent(tx, 'voucher.redeemed', {});
  // @ts-expect-error: a payload of the wrong shape
  void emitEvent(tx, 'voucher.expired', { code: 'X', campaign_id: 'c', expiration_date: new Date(), expired_at: 'now' });
  // @ts-expect-error: a business event carries the business payload
  void emitEvents(tx, 'order.created', [{ amount: 1 }]);
  // @ts-expect-error: a payload field the event does not have
  void outboxInsertSql('voucher.expired', { code: 'c', campaign_id: 'c', expiration_date: 'e', expired_at: 'x', extra: '1' }, 't');
  // @ts-expect-error: a payload field left out
  void outboxInsertSql('voucher.expired', { code: 'c', campaign_id: 'c', expiration_date: 'e' }, 't');
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : [join(dir, e.name)])));
  return nested.flat().filter((f) => f.endsWith('.ts'));
}

describe('the event catalogue and the outbox writer', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform({ api: false, workers: false });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('is the one writer of outbox_events', async () => {
    const writers: string[] = [];
    for (const file of await sourceFiles(join(ROOT, 'src'))) {
      if (/insert\s+into\s+outbox_events/i.test(await readFile(file, 'utf8'))) writers.push(file.slice(ROOT.length));
    }
    expect(writers).toEqual(['src/events/outbox.ts']);
  });

  it('refuses, at run time too, a type in a platform namespace that the catalogue lacks', async () => {
    const computed = ['voucher', 'redeemed'].join('.');
    await expect(p.platform.db.transaction((tx) => emitEvent(tx, computed, businessEventPayload()))).rejects.toThrow(
      'not an event type of the catalogue: voucher.redeemed',
    );
    const { rows } = await p.platform.db.query('select count(*)::int as n from outbox_events');
    expect(rows[0]?.n).toBe(0);
  });

  it('writes payloads, one by one, in bulk and from SQL, that match their catalogue schema', async () => {
    const now = new Date().toISOString();
    await p.platform.db.transaction(async (tx) => {
      await emitEvent(tx, 'webhook.endpoint.disabled', {
        endpoint_id: '6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c',
        url: 'https://example.com/hook',
        reason: 'gone',
        failing_since: null,
        disabled_at: now,
      });
      await emitEvents(tx, 'order.created', [businessEventPayload({ amount: 1 }), businessEventPayload({ amount: 2 })]);
      // As the expiry sweep does it: timestamps rendered by PostgreSQL (`+00:00`).
      await tx.query(
        `with expired(code, campaign_id, expiration_date) as (values ('CODE-1', '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11'::uuid, now()))
         ${outboxInsertSql('voucher.expired', { code: 'code', campaign_id: 'campaign_id', expiration_date: 'expiration_date', expired_at: '$1::timestamptz' }, 'expired')}`,
        [now],
      );
    });
    const { rows } = await p.platform.db.query<{ id: string; type: string; created_at: Date; data: unknown }>(
      'select id, type, created_at, data from outbox_events order by seq',
    );
    expect(rows.map((r) => r.type)).toEqual(['webhook.endpoint.disabled', 'order.created', 'order.created', 'voucher.expired']);
    for (const row of rows) {
      const envelope = { id: row.id, type: row.type, created_at: row.created_at.toISOString(), data: row.data };
      expect(eventEnvelopeSchema.safeParse(envelope).error?.issues ?? [], row.type).toEqual([]);
    }
    expect(EVENT_CATALOG['voucher.expired'].payload.parse(rows[3]?.data)).toMatchObject({ code: 'CODE-1' });
  });
});
