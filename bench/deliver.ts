/**
 * npm run bench:deliver -- [--count 100000] [--connections 5] [--concurrency 100]
 * 1. end to end: a CSV distribution of `count` email recipients, HTTP upload → publish (claim codes) → delivery rows
 *    → BullMQ jobs → nodemailer pooled SMTP, in a separate worker process, to a local smtp-server sink
 *    (its own process), until every recipient has its message;
 * 2. baseline: nodemailer alone sending the same number of messages through the same pool settings to the same sink.
 * duplicates / missing are counted by the sink per recipient address.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { loadConfig } from '../config/index.ts';
import { run } from '../src/main/runtime.ts';
import { argValue, benchDatabase, benchEnv, printTable, REPO_ROOT, roundTripCounter, stopWorkers } from './support.ts';

const count = argValue('count', 100_000);
const connections = argValue('connections', 5);
const concurrency = argValue('concurrency', 100);
const db = benchDatabase();
const apiKey = `pk_bench_${Date.now()}`;

interface Report {
  total: number;
  messages: number;
  distinct: number;
  duplicates: number;
}

function startSink(): Promise<{ child: ChildProcess; port: number; report(prefix: string): Promise<Report> }> {
  const child = fork(fileURLToPath(new URL('./smtp-sink-process.ts', import.meta.url)), [], { stdio: 'inherit' });
  return new Promise((resolve) => {
    child.once('message', (m: { port: number }) =>
      resolve({
        child,
        port: m.port,
        report: (prefix) =>
          new Promise((res) => {
            const onMessage = (r: Report & { type: string }) => {
              if (r.type !== 'report') return;
              child.off('message', onMessage);
              res(r);
            };
            child.on('message', onMessage);
            child.send({ type: 'report', prefix });
          }),
      }),
    );
  });
}

async function api(base: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' || body instanceof Readable ? (body as never) : JSON.stringify(body),
    ...(body instanceof Readable ? { duplex: 'half' } : {}),
  } as RequestInit);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function csvRows(n: number, domain: string): Readable {
  return Readable.from(
    (function* () {
      yield 'email,name\n';
      for (let i = 0; i < n; i += 1000) {
        let chunk = '';
        for (let k = i; k < Math.min(n, i + 1000); k++) chunk += `r${k}@${domain},Recipient ${k}\n`;
        yield chunk;
      }
    })(),
  );
}

async function endToEnd(sink: Awaited<ReturnType<typeof startSink>>): Promise<{ ms: number; report: Report }> {
  const env = {
    ...benchEnv(db, apiKey),
    SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
    SMTP_POOL_MAX_CONNECTIONS: String(connections),
    DELIVERY_CONCURRENCY: String(concurrency),
    EMAIL_RATE_MAX: '1000000',
    DISTRIBUTION_CHUNK_SIZE: '1000',
    GENERATION_CHUNK_SIZE: '50000',
    MAIL_FROM: 'bench@promo.example',
    DATABASE_POOL_SIZE: '20',
  };
  const running = await run(loadConfig({ ...process.env, ...env }), { api: true, workers: false });
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof
  const worker = spawn(process.execPath, [...nodeArgs, '--import', './bench/round-trips.ts', 'src/main/worker.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, BENCH_ROUND_TRIPS_DIR: roundTrips.dir },
    stdio: 'inherit',
  });
  try {
    const base = running.url as string;
    const campaign = await api(base, '/v1/campaigns', { name: 'bench', code_config: { length: 12 } });
    const generation = await api(base, `/v1/campaigns/${campaign.id}/generations`, { count });
    await waitUntil(async () => (await api(base, `/v1/generations/${generation.id}`)).status === 'completed', 300_000);
    const template = await api(base, '/v1/templates', {
      name: 'bench',
      channel: 'email',
      subject: 'Your code, {{ customer.name }}',
      html: '<p>Hello {{ customer.name }}, your code is <b>{{ voucher.code }}</b></p>',
      text: 'Hello {{ customer.name }}, your code is {{ voucher.code }}',
    });
    // The measured phase starts: the worker zeroes its round-trip counts.
    worker.kill('SIGUSR2');
    const started = performance.now();
    const distribution = await api(
      base,
      `/v1/campaigns/${campaign.id}/distributions?channel=email&template_id=${template.id}`,
      csvRows(count, 'e2e.example'),
      { 'content-type': 'text/csv' },
    );
    let last = 0;
    await waitUntil(
      async () => {
        const d = await api(base, `/v1/distributions/${distribution.id}`);
        if (Date.now() - last > 10_000) {
          last = Date.now();
          console.error(`  … ${d.sent} sent, ${d.queued} queued, chunks ${d.chunks.done}/${d.chunks.total}`);
        }
        return d.status === 'completed';
      },
      1_800_000,
      1_000,
    );
    const ms = performance.now() - started;
    return { ms, report: await sink.report('r') };
  } finally {
    await stopWorkers([worker]);
    await running.stop();
  }
}

async function baseline(sink: Awaited<ReturnType<typeof startSink>>): Promise<{ ms: number; report: Report }> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: connections,
    maxMessages: Number.POSITIVE_INFINITY,
  });
  const started = performance.now();
  let next = 0;
  const sender = async () => {
    while (next < count) {
      const i = next++;
      await transport.sendMail({
        from: 'bench@promo.example',
        to: `b${i}@baseline.example`,
        subject: `Your code, Recipient ${i}`,
        text: `Hello Recipient ${i}, your code is BASELINE${i}`,
        html: `<p>Hello Recipient ${i}, your code is <b>BASELINE${i}</b></p>`,
        messageId: `<b${i}@promo.example>`,
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  const ms = performance.now() - started;
  transport.close();
  return { ms, report: await sink.report('b') };
}

const roundTrips = roundTripCounter();
const sink = await startSink();
try {
  console.error(`bench:deliver: ${count} recipients, ${connections} SMTP connections, ${concurrency} concurrent sends`);
  const e2e = await endToEnd(sink);
  const base = await baseline(sink);
  const sentPerS = Math.round((count / e2e.ms) * 1000);
  const baselinePerS = Math.round((count / base.ms) * 1000);
  const missing = count - e2e.report.distinct;
  const trips = roundTrips.read();
  roundTrips.remove();
  // Per message, the worker's (distribution chunks, publication, sending): PostgreSQL statements, Redis round trips,
  // and the SMTP transaction itself counted as one (the baseline's only one).
  const statementsPerItem = trips.postgres / count;
  const roundTripsPerItem = (trips.postgres + trips.redis) / count + 1;
  printTable([
    ['messages', count],
    ['end to end (publish + deliver)', `${(e2e.ms / 1000).toFixed(1)} s, ${sentPerS} msg/s`],
    ['baseline (nodemailer alone)', `${(base.ms / 1000).toFixed(1)} s, ${baselinePerS} msg/s`],
    ['ratio', (sentPerS / baselinePerS).toFixed(3)],
    ['round trips per message (PostgreSQL + Redis + SMTP; baseline 1)', roundTripsPerItem.toFixed(2)],
    ['  PostgreSQL statements / Redis round trips per message', `${statementsPerItem.toFixed(2)} / ${(trips.redis / count).toFixed(2)}`],
    ['duplicates (sink, per recipient)', e2e.report.duplicates],
    ['missing (sink, per recipient)', missing],
    ['baseline delivered', base.report.distinct],
  ]);
  console.log(
    JSON.stringify({
      messages: count,
      sent_per_s: sentPerS,
      baseline_per_s: baselinePerS,
      ratio: Math.round((sentPerS / baselinePerS) * 1000) / 1000,
      round_trips_per_item: Number(roundTripsPerItem.toFixed(2)),
      statements_per_item: Number(statementsPerItem.toFixed(2)),
      duplicates: e2e.report.duplicates,
      missing,
      e2e_seconds: Math.round(e2e.ms) / 1000,
      baseline_seconds: Math.round(base.ms) / 1000,
      smtp_connections: connections,
    }),
  );
} finally {
  sink.child.send({ type: 'stop' });
  await db.drop();
}
