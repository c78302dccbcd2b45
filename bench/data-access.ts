/**
 * npm run bench:data-access -- [--ops 20000] [--concurrency 50] [--rounds 3]
 * The measurement behind "one pool, SQL for every query" (docs/architecture.md): the same reads and writes of the
 * campaigns table, in one run, through
 * 1. the platform's pool (`Database.read`/`query`, what the code does), the baseline;
 * 2. MikroORM entities (`em.fork().findOne`, `em.create` + `flush`), what describing every table as an entity gives;
 * 3. raw SQL through MikroORM's connection (`em.getConnection().execute`), how the hot paths would run under it;
 * and the batched validation lookup (one `unnest` statement for 50 codes) through (1) and (3). The ORM gets a pool
 * of the same size as the platform's. Rounds alternate the ways, so drift on a shared machine moves all alike; figures
 * are medians. It also prints what type a timestamptz comes back as on each pool, since raw SQL on MikroORM's pool
 * would change what the API returns.
 */
import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { ensureDatabase, runMigrations } from '../src/db/migrator.ts';
import { createPool, Database } from '../src/db/sql.ts';
import { CandidateLookup } from '../src/redemptions/lookup.ts';
import { argValue, benchDatabase, printTable } from './support.ts';

const ops = argValue('ops', 20_000);
const concurrency = argValue('concurrency', 50);
const rounds = argValue('rounds', 3);
const poolSize = 10;

/** The campaigns table as an entity: the second description of it that way (1) of the decision would need, for every table. */
const Campaign = defineEntity({
  name: 'Campaign',
  tableName: 'campaigns',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    name: p.text(),
    codeConfig: p.json<Record<string, unknown>>(),
    spaceKey: p.text(),
    allowGuessable: p.boolean().default(false),
    active: p.boolean().default(true),
    status: p.text().default('active'),
    startDate: p.datetime().nullable(),
    expirationDate: p.datetime().nullable(),
    timezone: p.text().default('UTC'),
    rules: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    metadata: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    issuedCount: p.bigint('number').default(0),
    createdAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});

interface Figure {
  opsPerSecond: number;
  cpuMsPerOp: number;
}

/** Runs `op` `count` times with `concurrency` callers; ops/s and this process's CPU per op. */
async function measure(count: number, op: (i: number) => Promise<unknown>): Promise<Figure> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await op(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { opsPerSecond: Math.round(count / seconds), cpuMsPerOp: Number(((used.user + used.system) / 1000 / count).toFixed(3)) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const bench = benchDatabase('promo_bench_data_access');
await ensureDatabase(bench.url);
const db = new Database(
  createPool({ connectionString: bench.url, max: poolSize, connectTimeoutMs: 10_000, onConnectionLost: () => undefined }),
);
await runMigrations(db);
const orm = await MikroORM.init({ clientUrl: bench.url, entities: [Campaign], pool: { min: 0, max: poolSize }, debug: false });
try {
  const ids: string[] = [];
  for (let i = 0; i < 1_000; i++) {
    const { rows } = await db.query<{ id: string }>(
      `insert into campaigns (name, code_config, space_key) values ($1, '{}', 'bench') returning id`,
      [`campaign ${i}`],
    );
    ids.push((rows[0] as { id: string }).id);
  }
  const codes = Array.from({ length: 5_000 }, (_, i) => `BENCH-${i}`);
  await db.query(`insert into vouchers (code, campaign_id) select unnest($1::text[]), $2`, [codes, ids[0]]);
  const someCodes = (i: number) => Array.from({ length: 50 }, (_, k) => codes[(i * 50 + k) % codes.length] as string);
  const connection = orm.em.getConnection();
  const lookupText = CandidateLookup.STATEMENT.text;

  const ways: Record<string, (i: number) => Promise<unknown>> = {
    'read by id: platform pool': (i) => db.read('select * from campaigns where id = $1', [ids[i % ids.length]]),
    'read by id: MikroORM entity': (i) => orm.em.fork().findOne(Campaign, { id: ids[i % ids.length] as string }),
    'read by id: SQL via MikroORM connection': (i) => connection.execute('select * from campaigns where id = ?', [ids[i % ids.length]]),
    'insert: platform pool': (i) =>
      db.query(`insert into campaigns (name, code_config, space_key) values ($1, $2, 'bench') returning *`, [`new ${i}`, {}]),
    'insert: MikroORM entity': async (i) => {
      const em = orm.em.fork();
      em.create(Campaign, { name: `new ${i}`, codeConfig: {}, spaceKey: 'bench' });
      await em.flush();
    },
    'lookup 50 codes: platform pool': (i) => db.read(CandidateLookup.STATEMENT, [someCodes(i), someCodes(i).map(() => null)]),
    // MikroORM expands an array parameter into a list, so the arrays go as PostgreSQL array literals.
    'lookup 50 codes: SQL via MikroORM connection': (i) =>
      connection.execute(lookupText.replace('$1', '?').replace('$2', '?'), [
        `{${someCodes(i).join(',')}}`,
        `{${someCodes(i)
          .map(() => 'NULL')
          .join(',')}}`,
      ]),
  };
  const results = new Map<string, Figure[]>();
  for (const way of Object.keys(ways)) await measure(Math.min(2_000, ops), ways[way] as (i: number) => Promise<unknown>); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const [way, op] of Object.entries(ways)) {
      const figure = await measure(way.startsWith('lookup') ? Math.ceil(ops / 5) : ops, op);
      results.set(way, [...(results.get(way) ?? []), figure]);
      console.error(`round ${round + 1} ${way}: ${figure.opsPerSecond} ops/s, ${figure.cpuMsPerOp} ms CPU/op`);
    }
  }
  const summary = Object.fromEntries(
    [...results].map(([way, figures]) => [
      way,
      { ops_per_s: median(figures.map((f) => f.opsPerSecond)), cpu_ms_per_op: median(figures.map((f) => f.cpuMsPerOp)) },
    ]),
  );
  const rate = (way: string) => (summary[way] as { ops_per_s: number }).ops_per_s;
  const ratio = (a: string, b: string) => Number((rate(a) / rate(b)).toFixed(3));
  const ours = (await db.query<{ at: unknown }>('select now() as at')).rows[0]?.at;
  const theirs = ((await connection.execute('select now() as at')) as { at: unknown }[])[0]?.at;
  printTable([
    ...Object.entries(summary).map(([way, f]) => [way, `${f.ops_per_s} ops/s, ${f.cpu_ms_per_op} ms CPU/op`] as [string, string]),
    ['timestamptz on the platform pool', ours instanceof Date ? 'Date' : typeof ours],
    ['timestamptz on MikroORM connection', theirs instanceof Date ? 'Date' : `${typeof theirs} (${JSON.stringify(theirs)})`],
  ]);
  console.log(
    JSON.stringify({
      read_orm_ratio: ratio('read by id: MikroORM entity', 'read by id: platform pool'),
      read_orm_sql_ratio: ratio('read by id: SQL via MikroORM connection', 'read by id: platform pool'),
      insert_orm_ratio: ratio('insert: MikroORM entity', 'insert: platform pool'),
      lookup_orm_sql_ratio: ratio('lookup 50 codes: SQL via MikroORM connection', 'lookup 50 codes: platform pool'),
      figures: summary,
      ops,
      concurrency,
      rounds,
      pool_size: poolSize,
    }),
  );
} finally {
  await orm.close(true);
  await db.pool.end();
  await bench.drop();
}
