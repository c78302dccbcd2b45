import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDatabase, runMigrations } from '../../src/db/migrator.ts';
import { createPool, Database } from '../../src/db/sql.ts';
import { DatabaseUnavailableError } from '../../src/shared/errors.ts';
import { dropIsolation, type Isolation, isolation, startTestPlatform, TEST_PG, waitFor } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

const POOL_SIZE = 3;
const TEST_CLIENT = 'pool-test-admin';

/** Runs `sample` every `ms`, skipping a tick while the last sample is out (a pg client runs one query at a time). */
function sampleEvery(ms: number, sample: () => Promise<void>): NodeJS.Timeout {
  let out = false;
  return setInterval(() => {
    if (out) return;
    out = true;
    sample()
      .catch(() => undefined)
      .finally(() => {
        out = false;
      });
  }, ms);
}

describe('the one database pool', () => {
  let iso: Isolation;
  let db: Database;
  let admin: pg.Client;
  let name: string;
  const lost: string[] = [];
  let peak = 0;
  let sampling: NodeJS.Timeout | undefined;

  let sampler: pg.Client;
  const backends = async (state?: string, client = admin) =>
    (
      await client.query<{ pid: number }>(
        `select pid from pg_stat_activity where datname = $1 and application_name <> $2 and backend_type = 'client backend'
         and ($3::text is null or state = $3)`,
        [name, TEST_CLIENT, state ?? null],
      )
    ).rows.map((r) => r.pid);

  beforeAll(async () => {
    iso = isolation();
    name = `promo_test_${iso.id}`;
    admin = new pg.Client({ connectionString: `${TEST_PG}/postgres`, application_name: TEST_CLIENT });
    await admin.connect();
    await ensureDatabase(iso.env.DATABASE_URL as string);
    // Counts this database's connections every few milliseconds for the whole file: migrations included.
    // On a client of its own: the tests' own admin queries never queue behind a sample.
    sampler = new pg.Client({ connectionString: `${TEST_PG}/postgres`, application_name: TEST_CLIENT });
    await sampler.connect();
    sampling = sampleEvery(5, async () => {
      peak = Math.max(peak, (await backends(undefined, sampler)).length);
    });
    db = new Database(
      createPool({
        connectionString: iso.env.DATABASE_URL as string,
        max: POOL_SIZE,
        connectTimeoutMs: 5_000,
        onConnectionLost: (error) => lost.push(error.message),
      }),
    );
    expect(await runMigrations(db)).not.toHaveLength(0);
  });
  afterAll(async () => {
    clearInterval(sampling);
    await db?.pool.end();
    await admin?.end();
    await sampler?.end();
    if (iso) await dropIsolation(iso);
  });

  it('opens at most DATABASE_POOL_SIZE connections, migrations and concurrent transactions included', async () => {
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 2 === 0
          ? db.read('select pg_sleep(0.01)')
          : db.transaction(async (tx) => {
              await tx.query('select pg_sleep(0.01)');
              return tx.query('select 1');
            }),
      ),
    );
    await db.withAdvisoryLock([1, 2], { wait: true }, () => db.query('select 1'));
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(POOL_SIZE);
  });

  it('reads again on a fresh connection when the connection under a read is cut; a write answers DatabaseUnavailableError', async () => {
    const read = db.read<{ answer: number }>('select pg_sleep(0.5), 42 as answer');
    const write = db.query('select pg_sleep(0.5), 1 as written').then(
      () => 'written',
      (error: unknown) => error,
    );
    await waitFor(async () => ((await backends('active')).length >= 2 ? true : undefined), 10_000, 5);
    for (const pid of await backends('active')) await admin.query('select pg_terminate_backend($1)', [pid]);
    expect((await read).rows[0]?.answer).toBe(42);
    expect(await write).toBeInstanceOf(DatabaseUnavailableError);
  });

  it('survives a transaction whose connection is cut while it waits between statements, and replaces the connection', async () => {
    lost.length = 0;
    let started!: () => void;
    const inside = new Promise<void>((resolve) => {
      started = resolve;
    });
    let cut!: () => void;
    const terminated = new Promise<void>((resolve) => {
      cut = resolve;
    });
    const tx = db
      .transaction(async (client) => {
        await client.query('select 1');
        started();
        // Idle in transaction: the cut arrives as an 'error' event on a client nobody is querying.
        await terminated;
        await new Promise((r) => setTimeout(r, 100));
        return client.query('select 2');
      })
      .catch((error: unknown) => error);
    await inside;
    const idle = await backends('idle in transaction');
    expect(idle).toHaveLength(1);
    await admin.query('select pg_terminate_backend($1)', [idle[0]]);
    cut();
    expect(await tx).toBeInstanceOf(DatabaseUnavailableError);
    expect(lost.some((m) => m.includes('terminating connection'))).toBe(true);
    expect((await db.query<{ n: number }>('select 3 as n')).rows[0]?.n).toBe(3);
    expect((await backends()).every((pid) => pid !== idle[0])).toBe(true);
  });

  it('tells the holder of an advisory lock when its connection, and with it the lock, is gone', async () => {
    const held = db
      .withAdvisoryLock([7, 7], { wait: false }, async (_session, gone) => {
        await new Promise<void>((resolve) => gone.addEventListener('abort', () => resolve()));
        gone.throwIfAborted();
      })
      .catch((error: unknown) => error);
    const holder = await waitFor(
      async () =>
        (
          await admin.query<{ pid: number }>(
            `select l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and a.datname = $1`,
            [name],
          )
        ).rows[0]?.pid,
      10_000,
      5,
    );
    await admin.query('select pg_terminate_backend($1)', [holder]);
    expect(await held).toBeInstanceOf(DatabaseUnavailableError);
    // The lock went with the session: the next holder gets it at once.
    expect(await db.withAdvisoryLock([7, 7], { wait: false }, async () => 'mine')).toEqual({ locked: true, result: 'mine' });
  });
});

describe('a platform process', () => {
  it('opens at most DATABASE_POOL_SIZE connections to PostgreSQL, whatever its routes do', async () => {
    const p = await startTestPlatform({ workers: false, env: { DATABASE_POOL_SIZE: '3' } });
    const admin = new pg.Client({ connectionString: `${TEST_PG}/postgres`, application_name: TEST_CLIENT });
    await admin.connect();
    let peak = 0;
    const sampling = sampleEvery(5, async () => {
      const r = await admin.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = $1 and application_name <> $2',
        [new URL(p.config.DATABASE_URL).pathname.slice(1), TEST_CLIENT],
      );
      peak = Math.max(peak, r.rows[0]?.n ?? 0);
    });
    try {
      const campaignId = await createCampaign(p);
      const code = (await createVoucher(p, campaignId, uniqueCode('POOL'), { rules: { redemption: { per_code_limit: null } } })).code;
      const answers = await Promise.all(
        Array.from({ length: 90 }, (_, i) =>
          i % 3 === 0
            ? p.call(`/v1/campaigns/${campaignId}`)
            : i % 3 === 1
              ? p.call('/v1/validations', { method: 'POST', json: { code } })
              : p.call('/v1/redemptions', { method: 'POST', json: { code } }),
        ),
      );
      expect(answers.map((a) => a.status).filter((s) => s >= 300)).toEqual([]);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(3);
    } finally {
      clearInterval(sampling);
      await admin.end();
      await p.destroy();
    }
  });
});

describe('a read route', () => {
  it('answers from a fresh connection when the connection under its query is cut (tried once more, not 503)', async () => {
    const p = await startTestPlatform({ workers: false });
    const admin = new pg.Client({ connectionString: `${TEST_PG}/postgres`, application_name: TEST_CLIENT });
    await admin.connect();
    const database = new URL(p.config.DATABASE_URL).pathname.slice(1);
    const blocker = await p.platform.db.pool.connect();
    try {
      const campaignId = await createCampaign(p);
      const code = (await createVoucher(p, campaignId, uniqueCode('READ'))).code;
      // The read waits behind this lock, on a backend the test can find and cut mid-query.
      await blocker.query('begin');
      await blocker.query('lock table vouchers in access exclusive mode');
      const answer = p.call(`/v1/vouchers/${code}`);
      const waiting = await waitFor(async () => {
        const { rows } = await admin.query<{ pid: number }>(
          `select pid from pg_stat_activity where datname = $1 and wait_event_type = 'Lock' and query like '%from vouchers%'`,
          [database],
        );
        return rows[0]?.pid;
      });
      await admin.query('select pg_terminate_backend($1)', [waiting]);
      await blocker.query('commit');
      const res = await answer;
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.code).toBe(code);
    } finally {
      blocker.release();
      await admin.end();
      await p.destroy();
    }
  });
});
