import { access } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { runMigrations } from '../../src/db/migrator.ts';
import { sendStatementsUnnamed } from '../../src/db/prepared-statements.ts';
import { Database } from '../../src/db/sql.ts';
import { runExpirySweep } from '../../src/expiry/sweep.ts';
import { run } from '../../src/main/runtime.ts';
import { CandidateLookup } from '../../src/redemptions/lookup.ts';
import { type LocalPgBouncer, PGBOUNCER, startPgBouncer } from '../support/pgbouncer.ts';
import { startTestPlatform, TEST_PG, type TestPlatform, waitFor } from '../support/platform.ts';
import { runPlatformSmoke, SMOKE_ENV } from '../support/platform-smoke.ts';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const installed = await access(PGBOUNCER).then(
  () => true,
  () => false,
);
if (!installed) console.warn(`pgbouncer.test.ts skipped: no PgBouncer at ${PGBOUNCER} (apt-get install pgbouncer, or set PGBOUNCER_BIN)`);

/** The platform with DATABASE_URL through a real PgBouncer (Debian's 1.18) in transaction pooling mode. */
describe.skipIf(!installed)('behind PgBouncer in transaction mode', () => {
  let bouncer: LocalPgBouncer;
  let p: TestPlatform;
  let receiver: WebhookReceiver;
  let database: string;
  beforeAll(async () => {
    bouncer = await startPgBouncer({ poolSize: 8 });
    receiver = await startReceiver();
    const probe = await startTestPlatform({ api: false, workers: false });
    database = new URL(probe.isolation.env.DATABASE_URL as string).pathname.slice(1);
    await probe.destroy();
    p = await startTestPlatform({
      env: { ...SMOKE_ENV, DATABASE_URL: `${bouncer.server}/${database}`, DATABASE_PREPARED_STATEMENTS: 'false' },
    });
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
    await bouncer?.stop();
    await p?.destroy();
    await receiver?.close();
  });

  it('generates, validates, redeems, delivers webhooks and sweeps through it', async () => {
    await runPlatformSmoke(p, receiver);
    // Every connection went through PgBouncer, and nothing listens through it (a LISTEN would sit on a shared server connection).
    expect(bouncer.log()).toContain(`db=${database}`);
    const direct = new pg.Client({ connectionString: `${TEST_PG}/postgres` });
    await direct.connect();
    try {
      const { rows } = await direct.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where datname = $1 and query ilike 'listen%'`,
        [database],
      );
      expect(rows[0]?.n).toBe(0);
    } finally {
      await direct.end();
    }
  }, 300_000);

  it('listens for outbox wake-ups on DATABASE_DIRECT_URL when it is set', async () => {
    const direct = await run(
      loadConfig({
        ...p.isolation.env,
        ...SMOKE_ENV,
        DATABASE_URL: `${bouncer.server}/${database}`,
        DATABASE_PREPARED_STATEMENTS: 'false',
        DATABASE_DIRECT_URL: `${TEST_PG}/${database}`,
        WORKER_QUEUES: 'outbox',
      }),
      { api: false, workers: true },
    );
    const admin = new pg.Client({ connectionString: `${TEST_PG}/postgres` });
    await admin.connect();
    try {
      await waitFor(async () => {
        const { rows } = await admin.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where datname = $1 and query ilike 'listen%'`,
          [database],
        );
        return (rows[0]?.n ?? 0) > 0;
      }, 10_000);
    } finally {
      await admin.end();
      await direct.stop();
    }
  });

  it('the batched validation lookup fails there as a named statement, and not when sent unnamed', async () => {
    // Fewer server connections than clients: every client's statements land on whichever server connection is free.
    const narrow = await startPgBouncer({ poolSize: 2 });
    const lookupRounds = async (unnamed: boolean) => {
      const pool = new pg.Pool({ connectionString: `${narrow.server}/${database}`, max: 6 });
      if (unnamed) sendStatementsUnnamed(pool);
      const db = new Database(pool);
      const lookups = Array.from({ length: 6 }, () => new CandidateLookup(db));
      const failures: (string | undefined)[] = [];
      for (let round = 0; round < 30; round++) {
        const results = await Promise.allSettled(lookups.map((lookup, i) => lookup.find(`NO-SUCH-${round}-${i}`, undefined)));
        for (const r of results) if (r.status === 'rejected') failures.push((r.reason as { code?: string }).code);
      }
      await pool.end();
      return failures;
    };
    try {
      const named = await lookupRounds(false);
      expect(named.length).toBeGreaterThan(0);
      // "prepared statement … does not exist" on a server connection that never saw it, "already exists" on one that did.
      for (const code of named) expect(['26000', '42P05']).toContain(code);
      expect(await lookupRounds(true)).toEqual([]);
    } finally {
      await narrow.stop();
    }
  });

  it('takes the sweep and migration locks so they are released through it (no lock left on a server connection)', async () => {
    const pool = new pg.Pool({ connectionString: `${bouncer.server}/${database}`, max: 6 });
    const db = new Database(pool);
    try {
      for (let i = 0; i < 8; i++) await runExpirySweep(db, { now: new Date(), batchSize: 100 });
      for (let i = 0; i < 4; i++) await expect(runMigrations(db)).resolves.toEqual([]);
    } finally {
      await pool.end();
    }
    // A session lock taken through PgBouncer stays with the server connection that ran it, which then sits idle in
    // PgBouncer's pool holding it (and the unlock, on another server connection, does nothing).
    const direct = new pg.Client({ connectionString: `${TEST_PG}/postgres` });
    await direct.connect();
    try {
      const { rows } = await direct.query<{ n: number }>(
        `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.locktype = 'advisory' and a.datname = $1 and a.state = 'idle'`,
        [database],
      );
      expect(rows[0]?.n).toBe(0);
    } finally {
      await direct.end();
    }
  });
});
