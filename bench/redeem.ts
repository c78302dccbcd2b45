/**
 * npm run bench:redeem -- [--codes 1000000] [--connections 50] [--duration 10] [--rounds 3] [--warmup 5]
 * Starts the platform (API in this process, load generator in a child process, both over loopback):
 * 1. validation throughput and p50/p99 on a campaign of --codes codes (random valid codes, with customer and order);
 * 2. redemption throughput with distinct codes (each redeemed once: BEGIN, lock + read + count, use + redemption +
 *    lifecycle + event, COMMIT), then the same on a campaign with a budget (its counter row charged inside the write):
 *    budget_redeem_rps, budget_ratio; the PostgreSQL statements each phase sent per redemption (BEGIN and COMMIT included);
 * 2b. rich validation (issue 13): 3 codes of 3 campaigns for one order of 20 lines, a stored customer, 8 conditions
 *    (5 on one code, with item predicates and a segment), stacking and line-by-line pricing; and the cost of the
 *    rules evaluation alone per validation (in process, no I/O), in microseconds;
 * 2c. the redemption's baseline: the bare redemption (conditional UPDATE … RETURNING + INSERT in one transaction) through the same
 *    pool at the same concurrency (`redeem_baseline_rps`, `redeem_ratio`);
 * 3. baselines: the bare indexed lookup `select … from vouchers where code = $1` through the same pg pool
 *    (50 concurrent callers, no HTTP), and the same lookup behind a bare node:http handler driven like (1);
 *    for context, GET /healthz through the platform's own HTTP stack (no auth, no database).
 * After a --warmup seconds validation warm-up (printed, not counted), the pool baseline and validation alternate for --rounds rounds, so a machine whose speed drifts during the run
 * (shared cores) moves both alike; the reported figures are the medians over the rounds, and every round is printed.
 * Each validation round also reports the server's CPU per request and how many validations shared one PostgreSQL
 * statement. To see where that CPU goes: `npx node --cpu-prof --cpu-prof-dir=/tmp/prof bench/redeem.ts --rounds 1`.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { loadConfig } from '../config/index.ts';
import { readCustomerContext } from '../src/customers/checkout-context.ts';
import { run } from '../src/main/runtime.ts';
import type { Platform } from '../src/platform.ts';
import { evaluateCheckout } from '../src/redemptions/checkout.ts';
import { CandidateLookup, readCandidates } from '../src/redemptions/lookup.ts';
import { normalizeOrder, orderInputSchema } from '../src/rules/order.ts';
import { benchArgs, benchCall, benchDatabase, benchEnv, printTable, REPO_ROOT } from './support.ts';

const {
  codes,
  connections,
  duration,
  rounds,
  warmup: warmupSeconds,
} = benchArgs({
  codes: 1_000_000,
  connections: 50,
  duration: 10,
  rounds: 3,
  warmup: 5,
});
const db = benchDatabase('promo_bench_redeem');
const apiKey = `pk_bench_${Date.now()}_redeem`;
const validRange = Math.floor(codes / 2);

interface Load {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

// The rich phase: one code of each of three campaigns, drawn from the first richRange of each, for this order.
const richPrefixes = ['RICHA', 'RICHB', 'RICHC'];
const richRange = Math.max(1000, Math.floor(codes / 10));
const richItems = Array.from({ length: 20 }, (_, i) =>
  i === 19
    ? { sku: 'shipping', categories: ['shipping'], quantity: 1, price: 490 }
    : {
        sku: `SKU-${i}`,
        product_id: `P-${i}`,
        categories: i < 4 ? ['shoes'] : i < 10 ? ['shirts'] : ['accessories'],
        quantity: 1 + (i % 3),
        price: 990 + 250 * i,
        metadata: { brand: i % 2 ? 'acme' : 'other' },
      },
);

function load(
  url: string,
  mode: 'validate' | 'redeem' | 'lookup' | 'healthz' | 'rich',
  seconds = duration,
  redeemFrom = validRange + 1,
): Promise<Load> {
  const job = {
    url,
    apiKey,
    mode,
    connections,
    duration: seconds,
    validRange,
    redeemFrom,
    richPrefixes,
    richRange,
    richItems,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/redeem-load.ts', JSON.stringify(job)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1) as string)) : reject(new Error(`load exited ${code}`)),
    );
  });
}

/**
 * Baseline of the redemption phase: the bare work a redemption must do, `connections` callers through the platform's
 * pool for `duration` s: one transaction with a conditional `UPDATE … RETURNING` of the voucher's count and one
 * `INSERT` of the redemption row (BEGIN, UPDATE, INSERT, COMMIT: four round trips). Distinct codes from the top of
 * the campaign, which the redemption phase (counting up from the middle) never reaches.
 */
async function redeemBaseline(platform: Platform): Promise<{ rps: number; p99: number }> {
  const latencies: number[] = [];
  let next = codes;
  let stop = false;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (!stop) {
        const code = `BENCH${String(next--).padStart(9, '0')}`;
        const t = performance.now();
        await platform.db.transaction(async (tx) => {
          const { rows } = await tx.query<{ id: string; campaign_id: string }>(
            `update vouchers set redemption_count = redemption_count + 1, updated_at = now()
              where code = $1 and status = 'active' returning id, campaign_id, redemption_count`,
            [code],
          );
          const voucher = rows[0];
          if (!voucher) throw new Error(`baseline: ${code} not redeemable`);
          await tx.query(`insert into redemptions (voucher_id, campaign_id, code, status) values ($1, $2, $3, 'succeeded')`, [
            voucher.id,
            voucher.campaign_id,
            code,
          ]);
        });
        latencies.push(performance.now() - t);
        if (performance.now() - started > duration * 1000) stop = true;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / seconds, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
}

const running = await run(
  loadConfig({
    ...process.env,
    ...benchEnv(db, apiKey),
    DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE ?? '20',
  }),
  { api: true, workers: false },
);
const { platform } = running;
let bare: Server | undefined;
try {
  const base = running.url as string;
  const post = (path: string, body: unknown): Promise<{ id: string }> => benchCall(base, apiKey, path, body);
  // The redemption phases' campaigns: the plain one, and the same rules under a budget that never runs out.
  const redeemRules = { discount: { type: 'percent', value: 10, max_amount: 5000 }, redemption: { per_customer_limit: 5 } };
  const campaign = await post('/v1/campaigns', { name: 'bench', rules: redeemRules });
  const started = performance.now();
  await platform.db.query(
    `insert into vouchers (code, campaign_id) select 'BENCH' || lpad(g::text, 9, '0'), $1 from generate_series(1, $2::int) g`,
    [campaign.id, codes],
  );
  const shoes = { categories: ['shoes'] };
  const richRules = [
    {
      conditions: [
        { name: 'members', when: { field: 'customer.segment', op: 'eq', value: 'members' }, message: 'For members.' },
        { name: 'has-shoes', when: { items: { match: shoes, min_quantity: 1 } } },
        { name: 'over-50', when: { field: 'order.amount', op: 'gte', value: 5000 } },
        { name: 'no-gift-cards', when: { not: { items: { match: { categories: ['gift-cards'] } } } } },
        { name: 'web-or-app', when: { field: 'order.metadata.channel', op: 'in', value: ['web', 'app'] } },
      ],
      discount: { type: 'percent', value: 20, max_amount: 3000, currency: 'EUR', apply_to: { items: { match: shoes } } },
      stacking: { priority: 10 },
      redemption: { per_code_limit: null },
    },
    {
      conditions: [
        { name: 'any-day', when: { field: 'now.day_of_week', op: 'in', value: [1, 2, 3, 4, 5, 6, 7] } },
        { name: 'acme', when: { items: { match: { metadata: { brand: 'acme' } }, min_amount: 1000 } } },
      ],
      discount: { type: 'unit', quantity: 1, match: { sku: 'shipping' } },
      stacking: { priority: 20 },
      redemption: { per_code_limit: null },
    },
    {
      conditions: [{ name: 'few-redemptions', when: { field: 'customer.redemptions_in_campaign', op: 'lt', value: 5 } }],
      discount: { type: 'amount', value: 500, currency: 'EUR' },
      redemption: { per_code_limit: null },
    },
  ];
  await post('/v1/segments', { name: 'members', when: { field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum'] } });
  for (const [i, rules] of richRules.entries()) {
    const rich = await post('/v1/campaigns', { name: `rich ${i}`, rules });
    await platform.db.query(
      `insert into vouchers (code, campaign_id) select $3 || lpad(g::text, 9, '0'), $1 from generate_series(1, $2::int) g`,
      [rich.id, richRange, richPrefixes[i]],
    );
  }
  // 50,000 stored customers (the load's customer ids), four in five of them in the segment.
  await platform.db.query(
    `insert into customers (id, metadata) select 'cust-' || g, jsonb_build_object('tier', case when g % 5 = 0 then 'silver' else 'gold' end)
     from generate_series(0, 49999) g`,
  );
  await platform.db.query('analyze vouchers');
  await platform.db.query('analyze customers');
  const seedSeconds = (performance.now() - started) / 1000;

  // Baseline 1: the bare indexed lookup through the platform's own pool, `connections` callers in a loop.
  const poolLookup = async () => {
    const latencies: number[] = [];
    let stop = false;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (!stop) {
          const t = performance.now();
          await platform.db.query('select * from vouchers where code = $1', [
            `BENCH${String(1 + Math.floor(Math.random() * validRange)).padStart(9, '0')}`,
          ]);
          latencies.push(performance.now() - t);
          if (performance.now() - started > duration * 1000) stop = true;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return { rps: latencies.length / seconds, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
  };

  // Baseline 2: the same lookup behind a bare node:http handler, driven by the same load generator as validation.
  bare = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', async () => {
      const { rows } = await platform.db.query('select * from vouchers where code = $1', [JSON.parse(body).code]);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rows[0] ?? null));
    });
  });
  await new Promise<void>((r) => bare?.listen(0, '127.0.0.1', () => r()));
  const httpLookup = await load(`http://127.0.0.1:${(bare.address() as AddressInfo).port}`, 'lookup');

  // Context: the platform's HTTP stack alone (edge middleware, no auth, no database).
  const healthz = await load(base, 'healthz');
  // Warm-up, not counted: JIT, each pooled connection's prepared statement, PostgreSQL's buffer cache.
  const warmup = await load(base, 'validate', warmupSeconds);
  // The server's own CPU per validation (this process: API, pg and ioredis clients) and how many validations
  // shared one PostgreSQL statement (the batched lookup's executions, counted at the pool).
  let lookupStatements = 0;
  const query = platform.db.pool.query.bind(platform.db.pool) as (...args: unknown[]) => unknown;
  (platform.db.pool as { query: unknown }).query = (...args: unknown[]) => {
    if ((args[0] as { name?: string }).name === CandidateLookup.STATEMENT.name) lookupStatements++;
    return query(...args);
  };
  const measuredValidate = async () => {
    const [cpu, statements] = [process.cpuUsage(), lookupStatements];
    const result = await load(base, 'validate');
    const used = process.cpuUsage(cpu);
    return {
      ...result,
      cpuMsPerRequest: (used.user + used.system) / 1000 / result.total,
      perStatement: result.total / Math.max(1, lookupStatements - statements),
    };
  };
  const paired: { pool: { rps: number; p99: number }; validate: Load & { cpuMsPerRequest: number; perStatement: number } }[] = [];
  for (let round = 0; round < rounds; round++) paired.push({ pool: await poolLookup(), validate: await measuredValidate() });

  // The rich phase: checked once (every code valid for a member), then measured `rounds` times.
  const sample = {
    codes: richPrefixes.map((prefix) => `${prefix}${'1'.padStart(9, '0')}`),
    customer: { id: 'cust-1' },
    order: { id: 'order-sample', currency: 'EUR', items: richItems, metadata: { channel: 'web' } },
  };
  const sampleAnswer = (await post('/v1/validations', sample)) as unknown as { valid: boolean; order: { discount_amount: number } };
  if (!sampleAnswer.valid) throw new Error(`the rich sample is not valid: ${JSON.stringify(sampleAnswer)}`);
  const richRounds: (Load & { cpuMsPerRequest: number })[] = [];
  for (let round = 0; round < rounds; round++) {
    const cpu = process.cpuUsage();
    const result = await load(base, 'rich');
    const used = process.cpuUsage(cpu);
    richRounds.push({ ...result, cpuMsPerRequest: (used.user + used.system) / 1000 / result.total });
  }
  // The rules alone: the same checkout decided in process from candidates and a customer read once.
  const richCandidates = await readCandidates(platform.db, sample.codes);
  const found = sample.codes.map((c) => ({ candidate: richCandidates.get(c) ?? null, counts: { code: 0, campaign: 0 } }));
  const richCustomer = await readCustomerContext(platform.db, 'cust-1', ['members']);
  const parsedOrder = orderInputSchema.parse(sample.order);
  const evaluate = () =>
    evaluateCheckout(
      { codes: sample.codes, customer: sample.customer, order: normalizeOrder(parsedOrder), metadata: null, now: new Date() },
      found,
      async () => richCustomer,
    );
  for (let i = 0; i < 5000; i++) await evaluate();
  const evaluations = 50_000;
  const evalStarted = performance.now();
  for (let i = 0; i < evaluations; i++) await evaluate();
  const rulesEvalUs = ((performance.now() - evalStarted) * 1000) / evaluations;
  // Every statement the platform's clients send (BEGIN and COMMIT included), to print per redemption.
  let statements = 0;
  const clientQuery = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++;
    return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof clientQuery;
  const counted = async (phase: Promise<Load>) => {
    const before = statements;
    const result = await phase;
    return { ...result, statementsPerItem: (statements - before) / Math.max(1, result.total) };
  };
  const redeem = await counted(load(base, 'redeem'));
  // Requests the load generator abandoned at the end of the phase are still running: let them finish.
  await new Promise((r) => setTimeout(r, 3000));
  // The same redemptions on a campaign with a budget that never runs out: its codes follow the plain campaign's.
  const budgeted = await post('/v1/campaigns', {
    name: 'bench budget',
    rules: redeemRules,
    budget: { max_redemptions: 100_000_000, max_discount_amount: 1_000_000_000_000, currency: 'EUR' },
  });
  const budgetCodes = Math.max(100_000, redeem.total * 2);
  await platform.db.query(
    `insert into vouchers (code, campaign_id) select 'BENCH' || lpad(g::text, 9, '0'), $1 from generate_series($2::int, $3::int) g`,
    [budgeted.id, codes + 1, codes + budgetCodes],
  );
  await platform.db.query('analyze vouchers');
  const budgetRedeem = await counted(load(base, 'redeem', duration, codes + 1));
  await new Promise((r) => setTimeout(r, 3000));
  const budgetUsed = (
    await platform.db.query<{ used_redemptions: number }>('select used_redemptions from campaign_budgets where campaign_id = $1', [
      budgeted.id,
    ])
  ).rows[0]?.used_redemptions;
  const redeemed = Number(
    (await platform.db.query<{ n: string }>("select count(*) as n from redemptions where status = 'succeeded'")).rows[0]?.n,
  );
  const redeemBase = await redeemBaseline(platform);

  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  const pool = { rps: median(paired.map((r) => r.pool.rps)), p99: median(paired.map((r) => r.pool.p99)) };
  const validate = {
    rps: median(paired.map((r) => r.validate.rps)),
    p50: median(paired.map((r) => r.validate.p50)),
    p99: median(paired.map((r) => r.validate.p99)),
    non2xx: paired.reduce((n, r) => n + r.validate.non2xx, 0),
    errors: paired.reduce((n, r) => n + r.validate.errors, 0),
  };
  const rich = { rps: median(richRounds.map((r) => r.rps)), p99: median(richRounds.map((r) => r.p99)) };
  const result = {
    validate_rps: Math.round(validate.rps),
    validate_p99_ms: validate.p99,
    redeem_rps: Math.round(redeem.rps),
    redeem_p99_ms: redeem.p99,
    budget_redeem_rps: Math.round(budgetRedeem.rps),
    budget_redeem_p99_ms: budgetRedeem.p99,
    budget_ratio: Number((budgetRedeem.rps / redeem.rps).toFixed(3)),
    budget_used_redemptions: budgetUsed,
    budget_redeem_non2xx: budgetRedeem.non2xx + budgetRedeem.errors,
    baseline_lookup_rps: Math.round(pool.rps),
    validate_ratio: Number(median(paired.map((r) => r.validate.rps / r.pool.rps)).toFixed(3)),
    validate_p50_ms: validate.p50,
    redeem_p50_ms: redeem.p50,
    baseline_lookup_p99_ms: Number(pool.p99.toFixed(2)),
    http_lookup_rps: Math.round(httpLookup.rps),
    http_lookup_p99_ms: httpLookup.p99,
    validate_ratio_vs_http_lookup: Number((validate.rps / httpLookup.rps).toFixed(3)),
    healthz_rps: Math.round(healthz.rps),
    rounds_validate_ratio: paired.map((r) => Number((r.validate.rps / r.pool.rps).toFixed(3))),
    validate_server_cpu_ms_per_request: Number(median(paired.map((r) => r.validate.cpuMsPerRequest)).toFixed(3)),
    validations_per_pg_statement: Number(median(paired.map((r) => r.validate.perStatement)).toFixed(1)),
    rich_validate_rps: Math.round(rich.rps),
    rich_validate_p99_ms: rich.p99,
    rich_ratio: Number((rich.rps / validate.rps).toFixed(3)),
    rules_eval_us: Number(rulesEvalUs.toFixed(1)),
    rich_non2xx: richRounds.reduce((n, r) => n + r.non2xx + r.errors, 0),
    rich_server_cpu_ms_per_request: Number(median(richRounds.map((r) => r.cpuMsPerRequest)).toFixed(3)),
    codes,
    connections,
    duration_s: duration,
    rounds,
    warmup_s: warmupSeconds,
    validate_non2xx: validate.non2xx + validate.errors,
    redeem_non2xx: redeem.non2xx + redeem.errors,
    redeemed_rows: redeemed,
    redeem_baseline_rps: Math.round(redeemBase.rps),
    redeem_baseline_p99_ms: Number(redeemBase.p99.toFixed(2)),
    redeem_ratio: Number((redeem.rps / redeemBase.rps).toFixed(3)),
    redeem_statements_per_item: Number(redeem.statementsPerItem.toFixed(2)),
    budget_statements_per_item: Number(budgetRedeem.statementsPerItem.toFixed(2)),
  };
  printTable([
    ['codes in campaign', codes.toLocaleString('en')],
    ['seed (insert + analyze)', `${seedSeconds.toFixed(1)} s`],
    ['connections / duration', `${connections} / ${duration} s per phase, ${rounds} rounds of pool lookup + validate`],
    ['warm-up: validate (not counted)', `${Math.round(warmup.rps)} req/s for ${warmupSeconds} s`],
    ...paired.map((r, i): [string, string] => [
      `round ${i + 1}: pool lookup / validate`,
      `${Math.round(r.pool.rps)} / ${Math.round(r.validate.rps)} req/s (validate p99 ${r.validate.p99} ms, ` +
        `${r.validate.cpuMsPerRequest.toFixed(3)} ms server CPU/req, ${r.validate.perStatement.toFixed(1)} req/statement)  ` +
        `ratio ${(r.validate.rps / r.pool.rps).toFixed(3)}`,
    ]),
    [
      'validate (median)',
      `${result.validate_rps} req/s  p50 ${validate.p50} ms  p99 ${validate.p99} ms  non-2xx ${result.validate_non2xx}`,
    ],
    ...richRounds.map((r, i): [string, string] => [
      `rich validate round ${i + 1}`,
      `${Math.round(r.rps)} req/s  p99 ${r.p99} ms  ${r.cpuMsPerRequest.toFixed(3)} ms server CPU/req`,
    ]),
    [
      'rich validate (3 codes, 20 lines, 8 conditions; median)',
      `${result.rich_validate_rps} req/s  p99 ${rich.p99} ms  non-2xx ${result.rich_non2xx}  ratio to validate ${result.rich_ratio}`,
    ],
    ['rules evaluation per rich validation (in process)', `${result.rules_eval_us} µs`],
    [
      'redeem (distinct codes)',
      `${result.redeem_rps} req/s  p50 ${redeem.p50} ms  p99 ${redeem.p99} ms  non-2xx ${result.redeem_non2xx}  ` +
        `(${result.redeem_statements_per_item} statements per redemption)`,
    ],
    [
      'baseline: bare redemption (UPDATE … RETURNING + INSERT, one transaction, pool)',
      `${result.redeem_baseline_rps} req/s  p99 ${result.redeem_baseline_p99_ms} ms  (4 round trips; redeem / baseline ${result.redeem_ratio})`,
    ],
    [
      'redeem on a budgeted campaign',
      `${result.budget_redeem_rps} req/s  p50 ${budgetRedeem.p50} ms  p99 ${budgetRedeem.p99} ms  non-2xx ${result.budget_redeem_non2xx}  ` +
        `ratio to plain ${result.budget_ratio}  (counter says ${budgetUsed} used; ${result.budget_statements_per_item} statements per redemption)`,
    ],
    ['baseline: pool lookup (median)', `${result.baseline_lookup_rps} req/s  p99 ${result.baseline_lookup_p99_ms} ms`],
    ['baseline: bare HTTP lookup', `${result.http_lookup_rps} req/s  p99 ${httpLookup.p99} ms`],
    ['context: GET /healthz', `${result.healthz_rps} req/s  p99 ${healthz.p99} ms`],
    ['validate / pool lookup (median of rounds)', String(result.validate_ratio)],
    ['validate / bare HTTP lookup', String(result.validate_ratio_vs_http_lookup)],
  ]);
  console.log(JSON.stringify(result));
} finally {
  bare?.close();
  await running.stop();
  await db.drop();
}
