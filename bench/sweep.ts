/**
 * npm run bench:sweep -- [--count 1000000] [--load-codes 200000] [--concurrency 8] [--batch 2000]
 *
 * `--count` vouchers already past expiry, swept by the `expiry.sweep` job in a separate worker process while a load
 * generator keeps redeeming other codes of the same table (the redemption use-case, `--concurrency` at a time).
 * Same-run baselines, under the same load: one plain `UPDATE vouchers SET status = 'expired' WHERE expiration_date <
 * now()` (writes no events), and the fair one: the job's end state (each voucher expired with its lifecycle row, its
 * outbox event and its stat delta) as one set-based statement. Between phases the rows are reset and the tables
 * vacuumed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { loadConfig } from '../config/index.ts';
import { expiryRecordsSql, SWEEP_ACTOR } from '../src/expiry/sweep.ts';
import { createPlatform, type Platform } from '../src/platform.ts';
import { enqueue } from '../src/queues/enqueue.ts';
import { redeemVoucher } from '../src/redemptions/redemptions.ts';
import { argValue, benchDatabase, benchDatabaseEnv, printTable, REPO_ROOT } from './support.ts';

const count = argValue('count', 1_000_000);
const loadCodes = argValue('load-codes', 200_000);
const concurrency = argValue('concurrency', 8);
const batch = argValue('batch', 2_000);
const db = benchDatabase('promo_bench_sweep');
const env: Record<string, string> = {
  ...benchDatabaseEnv(db),
  EXPIRY_SWEEP_BATCH_SIZE: String(batch),
  // The scheduler never fires on its own here: the bench enqueues one sweep when it is ready.
  EXPIRY_SWEEP_CRON: '0 0 0 1 1 *',
  WORKER_QUEUES: 'maintenance',
  DATABASE_POOL_SIZE: String(concurrency + 4),
};

interface Load {
  stop(): Promise<{ redemptions: number; errors: number; maxMs: number; p99Ms: number }>;
}

/** Redeems distinct codes of the load campaign, `concurrency` at a time, recording each call's latency. */
function startLoad(platform: Platform, codes: string[]): Load {
  let running = true;
  let errors = 0;
  const latencies: number[] = [];
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) {
      const code = codes.pop();
      if (!code) break;
      const started = performance.now();
      try {
        const r = await redeemVoucher(
          platform.db,
          { code, metadata: {} },
          {
            actor: 'bench',
            apiKeyId: '00000000-0000-4000-8000-000000000000',
            idempotencyTtlSeconds: platform.config.IDEMPOTENCY_KEY_TTL_SECONDS,
            now: new Date(),
          },
        );
        if (r.response.status !== 201) errors += 1;
      } catch {
        errors += 1;
      }
      latencies.push(performance.now() - started);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        redemptions: latencies.length,
        errors,
        maxMs: Math.round(sorted.at(-1) ?? 0),
        p99Ms: Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? 0),
      };
    },
  };
}

/** Every due voucher expired with its lifecycle row, outbox event and stat delta: one statement (the job's records). */
async function fairBaseline(platform: Platform): Promise<number> {
  const now = new Date();
  const { rows } = await platform.db.query<{ n: number }>(
    `with expired as (
       update vouchers v set status = 'expired', updated_at = $1
       where v.status = 'active' and v.expiration_date is not null and v.expiration_date <= $1
       returning v.id, v.code, v.campaign_id, v.expiration_date
     )${expiryRecordsSql('expired')}
     select count(*)::int as n, $2::int as unused, (select count(*) from notified) as notified from expired`,
    [now, null, SWEEP_ACTOR],
  );
  return rows[0]?.n ?? 0;
}

/** Back to before the fair baseline: the campaign's vouchers active, the records gone, the table vacuumed. */
async function undoExpiry(platform: Platform, campaignId: string): Promise<void> {
  const q = (sql: string, params?: unknown[]) => platform.db.query(sql, params);
  // voucher_events is append-only (a row trigger refuses deletes): the bench empties the record tables instead.
  await q('truncate voucher_events, outbox_events, campaign_stat_deltas cascade');
  await q(`update vouchers set status = 'active', updated_at = null where campaign_id = $1`, [campaignId]);
  await q('vacuum analyze vouchers');
}

async function main() {
  const platform = await createPlatform(loadConfig({ ...process.env, ...env }));
  const worker: ChildProcess = spawn(process.execPath, ['src/main/worker.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
  try {
    const q = (sql: string, params?: unknown[]) => platform.db.query(sql, params);
    const campaign = (await q(`insert into campaigns (name, code_config, space_key) values ('sweep-bench', '{}', 'bench') returning id`))
      .rows[0]?.id;
    const load = (
      await q(
        `insert into campaigns (name, code_config, space_key, rules) values ('load', '{}', 'bench-load', '{"redemption": {"per_code_limit": null}}') returning id`,
      )
    ).rows[0]?.id;
    let t = performance.now();
    await q(
      `insert into vouchers (code, campaign_id, expiration_date)
       select 'EXP' || lpad(g::text, 9, '0'), $1, now() - interval '1 day' - g * interval '1 millisecond' from generate_series(1, $2) g`,
      [campaign, count],
    );
    await q(`insert into vouchers (code, campaign_id) select 'LOAD' || lpad(g::text, 9, '0'), $1 from generate_series(1, $2) g`, [
      load,
      loadCodes,
    ]);
    await q('update campaigns set issued_count = $2 where id = $1', [campaign, count]);
    await q('vacuum analyze vouchers');
    const seedMs = Math.round(performance.now() - t);
    const codes = Array.from({ length: loadCodes }, (_, i) => `LOAD${String(loadCodes - i).padStart(9, '0')}`);

    // Baseline: one plain UPDATE over the same rows, under the same load.
    let traffic = startLoad(platform, codes);
    await new Promise((r) => setTimeout(r, 500));
    t = performance.now();
    const baseline = await q(`update vouchers set status = 'expired' where expiration_date < now()`);
    const baselineMs = Math.round(performance.now() - t);
    const baselineLoad = await traffic.stop();
    if (baseline.rowCount !== count) throw new Error(`baseline expired ${baseline.rowCount}, expected ${count}`);

    await q(`update vouchers set status = 'active', updated_at = null where campaign_id = $1`, [campaign]);
    await q('vacuum analyze vouchers');

    // Fair baseline: the same end state as the job (every due voucher expired with its lifecycle row, its outbox event
    // and its stat delta) in one set-based statement, under the same load; then undone.
    traffic = startLoad(platform, codes);
    await new Promise((r) => setTimeout(r, 500));
    t = performance.now();
    const fair = await fairBaseline(platform);
    const fairMs = Math.round(performance.now() - t);
    const fairLoad = await traffic.stop();
    if (fair !== count) throw new Error(`fair baseline expired ${fair}, expected ${count}`);
    await undoExpiry(platform, campaign);

    // The job, in its worker process, under the same load.
    const queue = platform.queues.get('maintenance');
    for (let i = 0; (await queue.getWorkersCount()) === 0; i++) {
      if (i > 300) throw new Error('worker did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    traffic = startLoad(platform, codes);
    await new Promise((r) => setTimeout(r, 500));
    t = performance.now();
    const job = await enqueue(platform.queues, 'expiry.sweep', {});
    let result: { vouchersExpired: number; batches: number; longestBatchMs: number } | undefined;
    for (;;) {
      const state = await job.getState();
      if (state === 'completed') {
        result = (await queue.getJob(job.id as string))?.returnvalue;
        break;
      }
      if (state === 'failed') throw new Error(`sweep failed: ${(await queue.getJob(job.id as string))?.failedReason}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const sweepMs = Math.round(performance.now() - t);
    const sweepLoad = await traffic.stop();
    const expired = Number(
      (await q(`select count(*) as n from vouchers where campaign_id = $1 and status = 'expired'`, [campaign])).rows[0]?.n,
    );
    const events = Number(
      (
        await q(
          `select count(*) as n from voucher_events e join vouchers v on v.id = e.voucher_id where v.campaign_id = $1 and e.type = 'expired'`,
          [campaign],
        )
      ).rows[0]?.n,
    );
    if (expired !== count || events !== count) throw new Error(`sweep left ${expired} expired with ${events} events, expected ${count}`);

    const ratio = Math.round((sweepMs / Math.max(1, baselineMs)) * 100) / 100;
    const fairRatio = Math.round((sweepMs / Math.max(1, fairMs)) * 100) / 100;
    // Statements per voucher: the job's one per batch (plus a few per run) against the fair baseline's one.
    const statementsPerItem = (result?.batches ?? 0) / count;
    printTable([
      ['vouchers past expiry', count],
      ['load codes / concurrency', `${loadCodes} / ${concurrency}`],
      ['seed (insert + vacuum)', `${seedMs} ms`],
      [`sweep job (batches of ${batch})`, `${sweepMs} ms, ${result?.batches} batches, events + outbox + stats written`],
      ['baseline plain UPDATE', `${baselineMs} ms, no events`],
      ['ratio sweep / baseline', ratio],
      ['fair baseline: one statement, same end state', `${fairMs} ms, events + outbox + stats written`],
      ['fair ratio sweep / fair baseline', fairRatio],
      ['longest sweep batch (a redemption of one of its codes waits at most this)', `${result?.longestBatchMs} ms`],
      [
        'redemptions during fair baseline',
        `${fairLoad.redemptions}, errors ${fairLoad.errors}, p99 ${fairLoad.p99Ms} ms, max ${fairLoad.maxMs} ms`,
      ],
      [
        'redemptions during sweep',
        `${sweepLoad.redemptions}, errors ${sweepLoad.errors}, p99 ${sweepLoad.p99Ms} ms, max ${sweepLoad.maxMs} ms`,
      ],
      [
        'redemptions during baseline',
        `${baselineLoad.redemptions}, errors ${baselineLoad.errors}, p99 ${baselineLoad.p99Ms} ms, max ${baselineLoad.maxMs} ms`,
      ],
    ]);
    console.log(
      JSON.stringify({
        expired,
        sweep_ms: sweepMs,
        baseline_update_ms: baselineMs,
        ratio,
        max_redeem_latency_ms: sweepLoad.maxMs,
        redeem_errors: sweepLoad.errors,
        p99_redeem_latency_ms: sweepLoad.p99Ms,
        redemptions_during_sweep: sweepLoad.redemptions,
        baseline_max_redeem_latency_ms: baselineLoad.maxMs,
        baseline_redeem_errors: baselineLoad.errors,
        batches: result?.batches,
        fair_baseline_ms: fairMs,
        fair_ratio: fairRatio,
        longest_batch_ms: result?.longestBatchMs,
        fair_baseline_p99_redeem_latency_ms: fairLoad.p99Ms,
        statements_per_item: Number(statementsPerItem.toFixed(5)),
      }),
    );
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    const keys = await platform.redis.keys(`${env.QUEUE_PREFIX}:*`);
    if (keys.length > 0) await platform.redis.del(...keys);
    await platform.close();
    await db.drop();
  }
}

await main();
