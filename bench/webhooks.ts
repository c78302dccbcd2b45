/**
 * npm run bench:webhooks [-- --events 20000] [--workers 2] [--concurrency 64] [--emitters 8] [--rate 0]
 * 20,000 events (each its own committed transaction) to 3 local receivers in a separate process: fast, slow
 * (BENCH_SLOW_MS, default 50 ms per response) and flaky (500 half the time, at random). Measures delivered
 * deliveries per second (event × endpoint, 2xx only) through the outbox relay, BullMQ and worker processes, the
 * p99 from commit to the first attempt at the receiver, and as a same-run baseline plain unsigned POSTs from one
 * process to the same receivers at the same concurrency. `lost` counts event × endpoint pairs never answered 2xx.
 * Beside the ratio: the schedule's floor (the soonest any sender could have finished this run's events, given their
 * commit times, the flaky receiver's failures and the retry schedule) and the ratio at that floor (`ratio_ceiling`),
 * how late retries came against their schedule, the slow receiver's use of its in-flight cap, and where the
 * machine's CPU went (workers, PostgreSQL, Redis, receivers, the event writers; busy, idle, stolen).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { loadConfig } from '../config/index.ts';
import { emitEvent } from '../src/events/outbox.ts';
import { run } from '../src/main/runtime.ts';
import { createEndpoint } from '../src/webhooks/endpoints.ts';
import {
  argValue,
  benchDatabase,
  cpuMs,
  machineCpuMs,
  postgresCpuMs,
  printTable,
  REPO_ROOT,
  roundTripCounter,
  stopWorkers,
} from './support.ts';

/** A business event's payload (the benchmark's events are passed-on business events, as the catalogue requires). */
const benchEvent = (data: Record<string, unknown>) => ({
  event_id: randomUUID(),
  source_id: null,
  customer: { id: 'bench' },
  data,
  occurred_at: new Date().toISOString(),
});

const events = argValue('events', 20_000);
const workerCount = argValue('workers', 2);
const concurrency = argValue('concurrency', 64);
const emitters = argValue('emitters', 8);
/** Events per second to produce at (0: as fast as 8 writers can commit, a burst). */
const rate = process.argv.includes('--rate') ? argValue('rate', 1) : 0;
const db = benchDatabase('promo_bench_webhooks');
/** Enough quick retries that a receiver failing at random half the time still gets everything (2^-21 per delivery). */
const retryDelaysMs = [50, 100, 200, 400, 800, ...Array(15).fill(1000)];
/** The slow receiver's answer time (bench/webhook-receivers.ts reads the same variable). */
const SLOW_MS = Number(process.env.BENCH_SLOW_MS ?? 50);
const env: Record<string, string> = {
  DATABASE_URL: db.url,
  QUEUE_PREFIX: `promo_${db.name}`,
  LOG_LEVEL: 'warn',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_DELIVERY_CONCURRENCY: String(concurrency),
  // As many in flight per receiver as the baseline may have: the same concurrency.
  WEBHOOK_ENDPOINT_MAX_IN_FLIGHT: String(concurrency),
  WEBHOOK_ENDPOINT_RATE_PER_S: '10000',
  WEBHOOK_RETRY_DELAYS_MS: retryDelaysMs.join(','),
  WEBHOOK_REQUEUE_AFTER_MS: '30000',
  OUTBOX_RELAY_INTERVAL_MS: '200',
  OUTBOX_RELAY_BATCH_SIZE: '1000',
  WORKER_QUEUES: 'outbox,webhook',
  // Small pools: PostgreSQL's connection limit is shared with everyone else on the machine.
  DATABASE_POOL_SIZE: '10',
};

type ReceiverName = 'fast' | 'slow' | 'flaky';
interface ReceiverStats {
  first: [string, number][];
  delivered: number;
  requests: number;
  samples: number[];
}

function request<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { type: string } & T) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.send({ type });
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Plain unsigned POSTs, round-robin over the receivers, `concurrency` in flight, keep-alive: the ceiling. */
async function baseline(urls: string[], total: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const body = JSON.stringify({ id: 'baseline', type: 'bench.baseline', created_at: new Date().toISOString(), data: { n: 1 } });
  let next = 0;
  const post = (url: string) =>
    new Promise<void>((resolve) => {
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', () => resolve());
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        await post(urls[i % urls.length] as string);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return total / seconds;
}

const roundTrips = roundTripCounter();
const receivers = fork(`${REPO_ROOT}bench/webhook-receivers.ts`, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const { ports } = await new Promise<{ ports: Record<ReceiverName, number> }>((resolve) =>
  receivers.once('message', (m: { ports: Record<ReceiverName, number> }) => resolve(m)),
);
const urls = (['fast', 'slow', 'flaky'] as const).map((name) => `http://127.0.0.1:${ports[name]}/${name}`);

const running = await run(loadConfig({ ...process.env, ...env, PORT: '0', HOST: '127.0.0.1' }), { api: false, workers: false });
const { platform } = running;
const workers: ChildProcess[] = [];
try {
  for (const url of urls) await createEndpoint(platform, { url, events: ['bench.*'] });
  for (let i = 0; i < workerCount; i++) {
    const nodeArgs = process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []; // e.g. --cpu-prof
    workers.push(
      spawn(process.execPath, [...nodeArgs, '--import', './bench/round-trips.ts', 'src/main/worker.ts'], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env, BENCH_ROUND_TRIPS_DIR: roundTrips.dir },
        stdio: 'inherit',
      }),
    );
  }

  // Workers up and relaying before the clock starts: one warm-up event reaches every receiver.
  await platform.db.transaction((tx) => emitEvent(tx, 'bench.warmup', benchEvent({})));
  for (;;) {
    const { rows } = await platform.db.query<{ n: number }>(`select count(*)::int as n from webhook_deliveries where status = 'succeeded'`);
    if ((rows[0]?.n ?? 0) >= urls.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }

  // Baseline first, on warm receivers.
  const baselinePosts = Math.min(events * 3, 30_000);
  const baselineCpu = process.cpuUsage();
  const baselinePerS = await baseline(urls, baselinePosts);
  const baselineCpuUs = process.cpuUsage(baselineCpu);
  await request(receivers, 'reset');

  // Where the CPU goes (local servers, Linux): the worker processes, the whole PostgreSQL server, Redis, the
  // receivers, this process (the event writers), and the machine as a whole (busy, idle, stolen by the hypervisor).
  const { rows: backend } = await platform.db.query<{ pid: number }>('select pg_backend_pid() as pid');
  const redisPid = Number(/process_id:(\d+)/.exec(await platform.redis.info('server'))?.[1]);
  const cpuNow = () => ({
    workers: workers.reduce((sum, w) => sum + cpuMs(w.pid as number), 0),
    postgres: postgresCpuMs(backend[0]?.pid as number),
    redis: cpuMs(redisPid),
    receivers: cpuMs(receivers.pid as number),
    writers: cpuMs(process.pid),
    machine: machineCpuMs(),
  });
  const cpuAtStart = cpuNow();
  // The measured phase starts: the workers zero their round-trip counts.
  for (const w of workers) w.kill('SIGUSR2');
  const committedAt = new Map<string, number>();
  const started = Date.now();
  let produced = 0;
  await Promise.all(
    Array.from({ length: emitters }, async () => {
      while (produced < events) {
        const n = produced++;
        if (rate > 0) {
          const due = started + (n * 1000) / rate;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        }
        const id = await platform.db.transaction((tx) => emitEvent(tx, 'bench.voucher.redeemed', benchEvent({ n, code: `BENCH-${n}` })));
        committedAt.set(id, Date.now());
      }
    }),
  );
  const producedMs = Date.now() - started;

  const expected = events * urls.length;
  let lastProgress = 0;
  for (;;) {
    const { rows } = await platform.db.query<{ succeeded: number; failed: number }>(
      `select count(*) filter (where status = 'succeeded')::int as succeeded, count(*) filter (where status = 'failed')::int as failed
         from webhook_deliveries where event_type = 'bench.voucher.redeemed'`,
    );
    const { succeeded, failed } = rows[0] as { succeeded: number; failed: number };
    if (succeeded + failed >= expected) break;
    if (Date.now() - lastProgress > 10_000) {
      console.log(`… ${succeeded}/${expected} delivered after ${Math.round((Date.now() - started) / 1000)} s`);
      lastProgress = Date.now();
    }
    // Once a second: the count scans every delivery, and the end is read from delivered_at, not from this poll.
    await new Promise((r) => setTimeout(r, 1000));
  }
  const cpuAtEnd = cpuNow();
  if (process.env.BENCH_DEBUG) {
    const done = await platform.queues.get('webhook').getJobs(['completed'], 0, 20000);
    const tally: Record<string, number> = {};
    for (const j of done) tally[String(j.returnvalue?.status)] = (tally[String(j.returnvalue?.status)] ?? 0) + 1;
    console.log('outcomes', tally);
    for (const w of workers) console.log('worker cpu s', cpuMs(w.pid as number) / 1000);
    const q = async (sql: string) => console.log(sql.slice(0, 60), JSON.stringify((await platform.db.query(sql)).rows));
    await q(
      `select percentile_disc(array[0.5,0.99,1]) within group (order by extract(epoch from dispatched_at - created_at)) as relay_s from outbox_events`,
    );
    await q(
      `select percentile_disc(array[0.5,0.99,1]) within group (order by extract(epoch from a.first - d.created_at)) as queue_s from webhook_deliveries d join (select delivery_id, min(attempted_at) as first from webhook_attempts group by delivery_id) a on a.delivery_id = d.id`,
    );
    await q(`select percentile_disc(array[0.5,0.99,1]) within group (order by latency_ms) as latency from webhook_attempts`);
    await q(
      `select e.url, extract(epoch from max(d.delivered_at) - min(d.created_at))::int as span_s, max(d.total_attempts) as most_attempts
         from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id group by e.url`,
    );
    await q(`select min(created_at)::text, max(created_at)::text, min(dispatched_at)::text, max(dispatched_at)::text from outbox_events`);
    await q(`select relname, n_tup_upd, n_tup_hot_upd from pg_stat_user_tables where relname in ('webhook_deliveries', 'outbox_events')`);
  }
  const { stats } = await request<{ stats: Record<ReceiverName, ReceiverStats> }>(receivers, 'stats');
  // Requests in flight at a receiver (sampled every 100 ms), on average while it had any: the slow one's show how much
  // of its in-flight cap the platform used (the others answer at once, so they are seldom caught with any).
  const meanInFlight = (name: ReceiverName) => {
    const samples = stats[name].samples;
    const from = samples.findIndex((n) => n > 0);
    const busy = from < 0 ? [] : samples.slice(from, samples.findLastIndex((n) => n > 0) + 1);
    return busy.length === 0 ? 0 : Math.round(busy.reduce((a, b) => a + b, 0) / busy.length);
  };
  if (process.env.BENCH_DEBUG)
    for (const name of ['fast', 'slow', 'flaky'] as const) {
      const per = stats[name].samples;
      const seconds = Array.from({ length: Math.ceil(per.length / 10) }, (_, i) =>
        Math.round(per.slice(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0) / 10),
      );
      console.log(`${name} in flight per second`, seconds.join(' '));
    }
  let lastSuccess = 0;
  const { rows: last } = await platform.db.query<{ at: string }>(
    `select max(delivered_at)::text as at from webhook_deliveries where event_type = 'bench.voucher.redeemed'`,
  );
  lastSuccess = new Date(last[0]?.at ?? Date.now()).getTime();
  const elapsedS = (lastSuccess - started) / 1000;

  const firstAttempt: number[] = [];
  let delivered = 0;
  const rowsOut: [string, string | number][] = [];
  for (const name of ['fast', 'slow', 'flaky'] as const) {
    const s = stats[name];
    delivered += s.delivered;
    for (const [id, at] of s.first) {
      const committed = committedAt.get(id);
      if (committed !== undefined) firstAttempt.push(at - committed);
    }
    rowsOut.push([`${name}: delivered / requests`, `${s.delivered} / ${s.requests}`]);
  }
  firstAttempt.sort((a, b) => a - b);
  const { rows: attempts } = await platform.db.query<{ n: number }>(
    `select count(*)::int as n from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id where d.event_type = 'bench.voucher.redeemed'`,
  );
  // How late retries come: each gap between two attempts of a delivery against the schedule's delay for it (±20% jitter).
  const { rows: lateness } = await platform.db.query<{ p: number[] | null }>(
    `select percentile_disc(array[0.5, 0.99]) within group (order by gap_ms - ($1::int[])[attempt - 1]) as p
       from (select a.attempt, extract(epoch from a.attempted_at - lag(a.attempted_at) over (partition by a.delivery_id order by a.attempt)) * 1000 as gap_ms
               from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id
              where d.event_type = 'bench.voucher.redeemed') g
      where gap_ms is not null`,
    [retryDelaysMs],
  );
  const [retryLateP50, retryLateP99] = (lateness[0]?.p ?? [0, 0]).map((v) => Math.round(v));
  // The schedule's floor for this run: the soonest any sender could have finished, given when each event committed,
  // how many times the flaky receiver failed it (each retry no sooner than the schedule allows, -20% jitter), and
  // the slow receiver's 20,000 answers of SLOW_MS each, `concurrency` at a time. The ceiling is the ratio at that floor.
  const { rows: chains } = await platform.db.query<{ event_id: string; total_attempts: number }>(
    `select event_id, total_attempts from webhook_deliveries where event_type = 'bench.voucher.redeemed'`,
  );
  let floorMs = (events * SLOW_MS) / concurrency;
  for (const { event_id, total_attempts } of chains) {
    let at = (committedAt.get(event_id) ?? started) - started;
    for (let retry = 0; retry < total_attempts - 1; retry++) at += 0.8 * (retryDelaysMs[retry] ?? 0);
    floorMs = Math.max(floorMs, at);
  }
  const ratioCeiling = delivered / (floorMs / 1000) / baselinePerS;
  const lost = expected - delivered;
  await stopWorkers(workers);
  const trips = roundTrips.read();
  const attemptCount = attempts[0]?.n ?? 0;
  const statementsPerItem = trips.postgres / Math.max(1, attemptCount);
  // Per attempt: the worker processes' PostgreSQL statements and Redis round trips (the relay's included), plus the POST.
  const roundTripsPerItem = (trips.postgres + trips.redis + attemptCount) / Math.max(1, attemptCount);
  const deliveredPerS = delivered / elapsedS;
  const ratio = deliveredPerS / baselinePerS;
  // CPU per attempt (µs): what each side spends on one POST and all that goes with it, against the baseline's POST.
  const cpuPerAttemptUs = (part: 'workers' | 'postgres' | 'redis' | 'receivers' | 'writers') =>
    Math.round(((cpuAtEnd[part] - cpuAtStart[part]) * 1000) / Math.max(1, attemptCount));
  // The machine's share of the run: busy, idle (nothing to do: retries waiting for their time) and stolen.
  const machine = Object.fromEntries(
    (['busy', 'idle', 'steal'] as const).map((k) => [k, cpuAtEnd.machine[k] - cpuAtStart.machine[k]]),
  ) as Record<'busy' | 'idle' | 'steal', number>;
  const machineShare = (k: 'busy' | 'idle' | 'steal') =>
    Math.round((100 * machine[k]) / Math.max(1, machine.busy + machine.idle + machine.steal));
  const baselineCpuPerPostUs = Math.round((baselineCpuUs.user + baselineCpuUs.system) / baselinePosts);
  printTable([
    ['events (committed transactions)', events],
    ['endpoints', urls.length],
    ['worker processes × delivery concurrency', `${workerCount} × ${concurrency}`],
    ['events produced in', `${(producedMs / 1000).toFixed(1)} s (${rate ? `paced at ${rate}/s` : 'burst'})`],
    ['all delivered in', `${elapsedS.toFixed(1)} s`],
    ['attempts (incl. retries)', attempts[0]?.n ?? 0],
    ...rowsOut,
    ['delivered per second (event × endpoint)', deliveredPerS.toFixed(0)],
    [
      'first attempt after commit p50 / p99 / max',
      `${percentile(firstAttempt, 50)} / ${percentile(firstAttempt, 99)} / ${percentile(firstAttempt, 100)} ms`,
    ],
    ['retry later than its scheduled delay p50 / p99', `${retryLateP50} / ${retryLateP99} ms`],
    ['baseline: plain POSTs per second, one process', baselinePerS.toFixed(0)],
    [
      "the schedule's floor: soonest possible end / ratio there",
      `${(floorMs / 1000).toFixed(1)} s / ${ratioCeiling.toFixed(3)} (ratio now ${ratio.toFixed(3)})`,
    ],
    ['slow receiver: requests in flight while busy, mean', `${meanInFlight('slow')} (cap ${concurrency})`],
    ['round trips per attempt (PostgreSQL + Redis + the POST; baseline 1)', roundTripsPerItem.toFixed(2)],
    [
      '  PostgreSQL statements / Redis round trips per attempt',
      `${statementsPerItem.toFixed(2)} / ${(trips.redis / Math.max(1, attemptCount)).toFixed(2)}`,
    ],
    [
      'CPU per attempt: workers / PostgreSQL / Redis (baseline client per POST)',
      `${cpuPerAttemptUs('workers')} / ${cpuPerAttemptUs('postgres')} / ${cpuPerAttemptUs('redis')} µs (${baselineCpuPerPostUs} µs)`,
    ],
    ['  receivers / event writers (this process) per attempt', `${cpuPerAttemptUs('receivers')} / ${cpuPerAttemptUs('writers')} µs`],
    ['machine while measured: busy / idle / stolen', `${machineShare('busy')} / ${machineShare('idle')} / ${machineShare('steal')} %`],
    ['lost', lost],
  ]);
  console.log(
    JSON.stringify({
      events,
      delivered_per_s: Math.round(deliveredPerS),
      p99_first_attempt_ms: percentile(firstAttempt, 99),
      baseline_post_per_s: Math.round(baselinePerS),
      ratio: Number(ratio.toFixed(3)),
      round_trips_per_item: Number(roundTripsPerItem.toFixed(2)),
      statements_per_item: Number(statementsPerItem.toFixed(2)),
      lost,
      p50_first_attempt_ms: percentile(firstAttempt, 50),
      floor_s: Number((floorMs / 1000).toFixed(1)),
      ratio_ceiling: Number(ratioCeiling.toFixed(3)),
      slow_in_flight_mean: meanInFlight('slow'),
      retry_late_p50_ms: retryLateP50,
      retry_late_p99_ms: retryLateP99,
      attempts: attempts[0]?.n ?? 0,
      worker_cpu_us_per_attempt: cpuPerAttemptUs('workers'),
      postgres_cpu_us_per_attempt: cpuPerAttemptUs('postgres'),
      redis_cpu_us_per_attempt: cpuPerAttemptUs('redis'),
      receivers_cpu_us_per_attempt: cpuPerAttemptUs('receivers'),
      writers_cpu_us_per_attempt: cpuPerAttemptUs('writers'),
      baseline_cpu_us_per_post: baselineCpuPerPostUs,
      machine_busy_pct: machineShare('busy'),
      machine_idle_pct: machineShare('idle'),
      machine_steal_pct: machineShare('steal'),
      workers: workerCount,
      production_rate_per_s: rate || 'burst',
    }),
  );
} finally {
  await stopWorkers(workers);
  roundTrips.remove();
  receivers.kill();
  await platform.queues
    .get('outbox')
    .removeJobScheduler('outbox-relay')
    .catch(() => undefined);
  for (const name of ['outbox', 'webhook'] as const)
    await platform.queues
      .get(name)
      .obliterate({ force: true })
      .catch(() => undefined);
  await running.stop();
  await db.drop();
}
