/**
 * npm run bench:console [-- --codes 10000000 --rounds 20 --rebuild]
 * Server time of every console page on a campaign of 10,000,000 codes, from the Server-Timing header the console
 * sends, with the same run's /healthz and GET /v1/campaigns/{id} as the baseline of an HTTP round trip.
 *
 * The data set is built once, straight into PostgreSQL, in its own database (`promo_bench_console`, reused
 * across runs; --rebuild starts again): the campaign's codes, 30 days of redemptions, refusals and guesses, a
 * failing webhook endpoint with 200,000 deliveries, a distribution of 100,000 messages, and 200 more campaigns.
 */
import pg from 'pg';
import { loadConfig } from '../config/index.ts';
import { run } from '../src/main/runtime.ts';
import { foldAllStatDeltas } from '../src/stats/rollup.ts';
import { ConsoleClient } from '../test/support/console.ts';
import { argValue, benchCall, PG_SERVER, printTable } from './support.ts';

const codes = argValue('codes', 10_000_000);
const rounds = argValue('rounds', 20);
const rebuild = process.argv.includes('--rebuild');
const database = `promo_bench_console_${codes}`;
const apiKey = 'pk_bench_console_admin_key_0123456789';
const env = {
  DATABASE_URL: `${PG_SERVER}/${database}`,
  QUEUE_PREFIX: `promo_${database}`,
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  PROMO_BOOTSTRAP_KEY: apiKey,
};

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await client.connect();
  await client.query(sql);
  await client.end();
}

const step = async (label: string, work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  console.log(`  ${label}: ${Math.round(performance.now() - started)} ms`);
};

/** Builds the data set (once): every row written by SQL, as the platform's own writers would leave them. */
async function build(db: pg.Pool, call: (path: string, body?: unknown) => Promise<any>): Promise<void> {
  console.log(`building the data set in ${database} (once; --rebuild to start again)`);
  const campaign = await call('/v1/campaigns', { name: 'bench 10M', code_config: { pattern: 'BENCH-##########' } });
  const template = await call('/v1/templates', { name: 'bench', channel: 'email', subject: 'Code', text: 'Your code {{ voucher.code }}' });
  const endpoint = await call('/v1/webhooks', { url: 'https://receiver.invalid/hook', events: ['*'] });
  const id = campaign.id as string;
  const generation = (
    await db.query(
      `insert into generations (campaign_id, status, requested, generated, chunk_size, chunk_count, entropy_bits, guess_probability, started_at, finished_at)
       values ($1, 'completed', $2, $2, 50000, $3, 50, 1e-8, now() - interval '30 days', now() - interval '30 days') returning id`,
      [id, codes, Math.ceil(codes / 50_000)],
    )
  ).rows[0].id as string;
  await step(`${codes.toLocaleString('en')} codes`, async () => {
    for (let from = 1; from <= codes; from += 1_000_000) {
      const to = Math.min(codes, from + 999_999);
      await db.query(
        `insert into vouchers (code, campaign_id, generation_id, created_at)
         select 'BENCH-' || lpad(g::text, 10, '0'), $1, $2, now() - interval '30 days' from generate_series($3::int, $4::int) g`,
        [id, generation, from, to],
      );
    }
  });
  await step('100,000 redemptions over 30 days (stat deltas by trigger, folded)', async () => {
    await db.query(
      `insert into redemptions (voucher_id, campaign_id, code, customer_id, status, created_at)
       select v.id, v.campaign_id, v.code, 'cust_' || (v.id % 50000), 'succeeded', now() - ((v.id % 30) || ' days')::interval - ((v.id % 24) || ' hours')::interval
         from vouchers v where v.campaign_id = $1 and v.id <= (select min(id) from vouchers where campaign_id = $1) + 99999`,
      [id],
    );
    await db.query(
      `update vouchers set redemption_count = 1 where campaign_id = $1 and id <= (select min(id) from vouchers where campaign_id = $1) + 99999`,
      [id],
    );
    await db.query(
      `insert into campaign_stat_deltas (campaign_id, hour, published) select $1, date_trunc('hour', now() - (g || ' hours')::interval, 'UTC'), 1000
         from generate_series(1, 720) g`,
      [id],
    );
  });
  await step('200,000 refusal events (refusal deltas by trigger) and guesses', async () => {
    await db.query(
      `insert into outbox_events (type, data, created_at, dispatched_at)
       select 'voucher.redemption.failed',
              jsonb_build_object('code', 'BENCH-' || lpad(g::text, 10, '0'), 'campaign_id', $1::text,
                'reason', (array['disabled', 'expired', 'quantity_exceeded', 'customer_limit_exceeded'])[1 + g % 4], 'customer_id', null,
                'order', null, 'metadata', '{}'::jsonb, 'attempted_at', to_char(now() - ((g % 30) || ' days')::interval, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
              now() - ((g % 30) || ' days')::interval, now()
         from generate_series(1, 200000) g`,
      [id],
    );
    await db.query(
      `insert into campaign_guesses_hourly (campaign_id, hour, guesses)
       select c, date_trunc('hour', now() - (g || ' hours')::interval, 'UTC'), 50 + g % 200
         from generate_series(1, 720) g, (values ($1::uuid), (null::uuid)) v(c)`,
      [id],
    );
  });
  await step('a failing webhook endpoint with 200,000 deliveries, 3 attempts on the newest 1,000', async () => {
    await db.query(
      `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, status, attempts, total_attempts, last_status_code, last_error, created_at, updated_at)
       select md5(o.id::text || $1::text)::uuid, $1::uuid, o.id, o.type, 'failed', 8, 8, 500, 'HTTP 500', o.created_at, o.created_at
         from outbox_events o where o.type = 'voucher.redemption.failed'`,
      [endpoint.id],
    );
    await db.query(
      `insert into webhook_attempts (delivery_id, round, attempt, attempted_at, status_code, latency_ms, error, response_body)
       select d.id, 1, a, d.created_at + (a || ' minutes')::interval, 500, 40, 'HTTP 500', 'nope'
         from (select id, created_at from webhook_deliveries where endpoint_id = $1 order by created_at desc limit 1000) d, generate_series(1, 3) a`,
      [endpoint.id],
    );
    await db.query(`update webhook_endpoints set failing_since = now() - interval '2 days' where id = $1`, [endpoint.id]);
  });
  await step('a distribution of 100,000 messages (5 % failed) and 200 more campaigns', async () => {
    const distribution = (
      await db.query(
        `insert into distributions (campaign_id, channel, template_id, status, total, chunk_size, chunk_count, started_at, published_at)
         values ($1, 'email', $2, 'delivering', 100000, 500, 200, now() - interval '1 day', now() - interval '1 day') returning id`,
        [id, template.id],
      )
    ).rows[0].id as string;
    await db.query(
      `insert into distribution_chunks (distribution_id, chunk_index, published, skipped, invalid, exhausted)
       select $1, g, 500, 0, 0, 0 from generate_series(0, 199) g`,
      [distribution],
    );
    await db.query(
      `insert into deliveries (channel, status, recipient, voucher_id, distribution_id, template_id, provider, error, attempts, created_at, updated_at, sent_at)
       select 'email', case when g % 20 = 0 then 'failed' else 'sent' end, 'person' || g || '@example.com', g, $1, $2, 'smtp',
              case when g % 20 = 0 then '550 mailbox unavailable' end, 1, now() - interval '1 day', now() - interval '1 day' + (g || ' ms')::interval, now()
         from generate_series(1, 100000) g`,
      [distribution, template.id],
    );
    await db.query(
      `insert into campaigns (name, code_config, space_key, issued_count, created_at)
       select 'campaign ' || g, '{"length": 12}', 'bench-' || g, g * 1000, now() - (g || ' hours')::interval from generate_series(1, 200) g`,
    );
    await db.query(
      `insert into campaign_stats_hourly (campaign_id, hour, published, redeemed, redeemed_codes)
       select c.id, date_trunc('hour', now() - (h || ' hours')::interval, 'UTC'), 10, 5, 5
         from campaigns c, generate_series(1, 720) h where c.name like 'campaign %'`,
    );
  });
  await step('analyze', () => db.query('analyze'));
  // Last: a data set is complete once its campaign counts its codes (an interrupted build is built again).
  await db.query('update campaigns set issued_count = $2 where id = $1', [id, codes]);
}

interface Timing {
  server: number[];
  client: number[];
}

async function measure(label: string, get: () => Promise<{ status: number; headers: Headers }>, expected = 200): Promise<Timing> {
  const timing: Timing = { server: [], client: [] };
  for (let i = 0; i < rounds + 3; i++) {
    const started = performance.now();
    const res = await get();
    const client = performance.now() - started;
    if (res.status !== expected) throw new Error(`${label}: status ${res.status}`);
    if (i < 3) continue;
    timing.client.push(client);
    const server = /app;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1];
    if (server) timing.server.push(Number(server));
  }
  return timing;
}

const quantile = (values: number[], q: number) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};
const ms = (v: number) => (Number.isNaN(v) ? '—' : `${v.toFixed(1)} ms`);

if (rebuild) await admin(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
const running = await run(loadConfig({ ...process.env, ...env }), { api: true, workers: false });
const base = running.url as string;
try {
  const call = (path: string, body?: unknown) => benchCall(base, apiKey, path, body);
  const db = running.platform.db.pool;
  let big = (await db.query(`select id from campaigns where name = 'bench 10M' and issued_count = $1`, [codes])).rows[0]?.id as
    | string
    | undefined;
  if (!big) {
    await build(db, call);
    big = (await db.query(`select id from campaigns where name = 'bench 10M'`)).rows[0].id as string;
  }
  const ids = (
    await db.query(
      `select (select id from generations where campaign_id = $1 limit 1) as generation,
              (select id from webhook_endpoints limit 1) as endpoint,
              (select id from distributions where campaign_id = $1 limit 1) as distribution,
              (select code from vouchers where campaign_id = $1 and id = (select min(id) from vouchers where campaign_id = $1)) as code`,
      [big],
    )
  ).rows[0] as { generation: string; endpoint: string; distribution: string; code: string };
  // What the expiry sweep does every minute: pending stat and refusal deltas folded into the rollups.
  await step('fold pending deltas (as the sweep does each minute)', () => foldAllStatDeltas(db));
  const c = new ConsoleClient(base);
  if ((await c.login(apiKey)).status !== 303) throw new Error('console login failed');

  const pages: [string, string, number?][] = [
    ['Campaigns (201 campaigns)', '/console/campaigns'],
    ['Campaigns, search by name', '/console/campaigns?name=10M&state=active'],
    ['A campaign of 10M codes', `/console/campaigns/${big}`],
    ['  its generation row (polled)', `/console/generations/${ids.generation}/row`],
    ['Code lookup, lower case (redirect)', `/console/codes?code=${ids.code.toLowerCase()}`, 303],
    ['A code', `/console/codes/${ids.code}`],
    ['  its history (polled)', `/console/codes/${ids.code}/history`],
    ['Webhooks (200,000 failed deliveries)', '/console/webhooks'],
    ['A webhook endpoint', `/console/webhooks/${ids.endpoint}`],
    ['Deliveries and distributions', '/console/distributions'],
    ['A distribution of 100,000 messages', `/console/distributions/${ids.distribution}`],
    ['Jobs', '/console/jobs'],
  ];
  const results: [string, string][] = [];
  const healthz = await measure('healthz', () => fetch(`${base}/healthz`));
  const apiCampaign = await measure('api', () => fetch(`${base}/v1/campaigns/${big}`, { headers: { authorization: `Bearer ${apiKey}` } }));
  results.push(['baseline: GET /healthz (round trip)', `client median ${ms(quantile(healthz.client, 0.5))}`]);
  results.push(['baseline: GET /v1/campaigns/{id}', `client median ${ms(quantile(apiCampaign.client, 0.5))}`]);
  let worst = 0;
  const json: Record<string, { server_median_ms: number; server_p95_ms: number; client_median_ms: number }> = {};
  for (const [label, path, status] of pages) {
    const t = await measure(label, () => c.get(path), status ?? 200);
    const p95 = quantile(t.server, 0.95);
    if (!Number.isNaN(p95)) worst = Math.max(worst, p95);
    json[label.trim()] = { server_median_ms: quantile(t.server, 0.5), server_p95_ms: p95, client_median_ms: quantile(t.client, 0.5) };
    results.push([
      label,
      `server median ${ms(quantile(t.server, 0.5))}, p95 ${ms(p95)}, max ${ms(Math.max(...t.server))}; client median ${ms(quantile(t.client, 0.5))}`,
    ]);
  }
  console.log(`\nconsole pages, ${rounds} requests each after 3 warm-ups, ${codes.toLocaleString('en')} codes in the campaign:`);
  printTable(results);
  console.log(`\nslowest page p95 server time: ${worst.toFixed(1)} ms (${worst < 200 ? 'under' : 'OVER'} the 200 ms budget)`);
  console.log(JSON.stringify({ codes, rounds, worst_p95_ms: worst, pages: json }));
} finally {
  await running.stop();
}
