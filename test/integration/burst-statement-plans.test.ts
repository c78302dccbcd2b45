import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_SENT } from '../../src/delivery/deliveries.ts';
import { CLAIM, RECORD } from '../../src/webhooks/deliveries.ts';
import { createEndpoint } from '../../src/webhooks/endpoints.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

/**
 * A burst turns a table over faster than autovacuum analyzes it: the statistics still say that almost no delivery is
 * pending (or queued) while thousands are. The statements that write a wave must still find its rows by id, not read
 * every pending row (in bench:webhooks' burst that was 13 ms per claim, half of PostgreSQL's time).
 */
describe('wave statements under stale statistics', () => {
  let p: TestPlatform;
  const PENDING = 4_000;
  const WAVE = 32;
  let wave: { id: string; round: number; attempts: number }[] = [];
  let messages: string[] = [];

  beforeAll(async () => {
    p = await startTestPlatform({ api: false, workers: false, env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    const db = p.platform.db;
    const { endpoint } = await createEndpoint(p.platform, { url: 'http://127.0.0.1:9/plans', events: ['*'] });
    await db.query(`insert into outbox_events (type, data) select 'plan.checked', '{}' from generate_series(1, $1)`, [PENDING * 2]);
    const deliveries = (status: string, offset: number) =>
      db.query(
        `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, status)
         select gen_random_uuid(), $1, id, type, $2 from outbox_events order by seq offset $3 limit $4`,
        [endpoint.id, status, offset, PENDING],
      );
    // Analyzed while nothing was pending; then the burst.
    await deliveries('succeeded', 0);
    await db.query('analyze webhook_deliveries');
    await deliveries('pending', PENDING);
    const { rows } = await db.query<{ id: string; round: number; attempts: number }>(
      `select id, round, attempts from webhook_deliveries where status = 'pending' order by random() limit ${WAVE}`,
    );
    wave = rows;

    const messagesOf = (status: string) =>
      db.query(
        `insert into deliveries (channel, status, recipient, template_id)
         select 'email', $1, 'c' || n || '@example.com', gen_random_uuid() from generate_series(1, $2) n`,
        [status, PENDING],
      );
    await messagesOf('sent');
    await db.query('analyze deliveries');
    await messagesOf('queued');
    const queued = await db.query<{ id: string }>(`select id from deliveries where status = 'queued' order by random() limit ${WAVE}`);
    messages = queued.rows.map((r) => r.id);
  });
  afterAll(async () => {
    await p?.destroy();
  });

  /** Rows the scans of `table` read (actual rows × loops, plus those a filter removed), from EXPLAIN ANALYZE rolled back. */
  async function rowsRead(
    table: string,
    sql: string,
    params: unknown[],
    changed = 'select 0 as n',
  ): Promise<{ read: number; returned: number; changed: number }> {
    const rollback = new Error('rollback');
    let result = { read: 0, returned: 0, changed: 0 };
    await p.platform.db
      .transaction(async (tx) => {
        const { rows } = await tx.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (analyze, format json) ${sql}`, params);
        const plan = rows[0]?.['QUERY PLAN'][0]?.Plan as PlanNode;
        const read = scans(plan)
          .filter((n) => n['Relation Name'] === table)
          .reduce((sum, n) => sum + (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops'], 0);
        const after = await tx.query<{ n: number }>(changed, changed.includes('$1') ? [params[0]] : []);
        result = { read, returned: plan['Actual Rows'], changed: Number(after.rows[0]?.n) };
        throw rollback;
      })
      .catch((error) => {
        if (error !== rollback) throw error;
      });
    return result;
  }

  it('a webhook claim reads only its wave', async () => {
    const now = new Date();
    const { read, returned } = await rowsRead('webhook_deliveries', CLAIM, [
      wave.map((w) => w.id),
      wave.map((w) => w.round),
      wave.map((w) => w.attempts + 1),
      now,
      new Date(now.getTime() + 60_000),
    ]);
    expect(returned).toBe(WAVE);
    expect(read).toBeLessThanOrEqual(WAVE * 2);
  });

  it('a webhook record reads only its wave', async () => {
    const now = new Date();
    const { read, returned } = await rowsRead('webhook_deliveries', RECORD, [
      wave.map((w) => w.id),
      wave.map((w) => w.round),
      wave.map((w) => w.attempts),
      wave.map(() => 'succeeded'),
      wave.map(() => now),
      wave.map(() => 200),
      wave.map(() => null),
      wave.map(() => now),
      wave.map(() => 5),
      wave.map(() => null),
      wave.map(() => null),
      now,
      wave.map(() => 'job'),
    ]);
    expect(returned).toBe(WAVE);
    expect(read).toBeLessThanOrEqual(WAVE * 2);
  });

  it("an e-mail wave's record reads only its wave", async () => {
    const { read, changed } = await rowsRead(
      'deliveries',
      RECORD_SENT,
      [messages, messages.map(() => 'smtp'), messages.map((id) => `<${id}>`)],
      `select count(*)::int as n from deliveries where id = any($1::uuid[]) and status = 'sent'`,
    );
    expect(changed).toBe(WAVE);
    expect(read).toBeLessThanOrEqual(WAVE * 2);
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function scans(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(scans)];
}
