/**
 * `npm run demo`: the platform's main job end to end, on this machine.
 * Starts the platform (API + workers in this process, plus one worker process), creates a campaign, generates
 * 1,000,000 codes with a progress bar, validates and redeems a few (one refusal, with its reason), publishes a
 * code by e-mail (an .eml file when no SMTP server is configured), delivers a signed webhook to a receiver it
 * starts itself, and prints a summary with the URLs to open. Steps whose capability is missing say so and go on.
 *
 *   npm run demo                      # 1,000,000 codes; keeps running so you can open Bull Board; Ctrl-C to stop
 *   npm run demo -- --count 200000 --exit
 * It uses its own database (promo_demo on the configured server) and queue prefix (promo_demo), reset at each
 * run unless --keep; DEMO_DATABASE_URL points it at another database (never reset).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { type Config, loadConfig } from '../config/index.ts';
import { ApiError, PromoClient } from '../src/cli/client.ts';
import { followGeneration } from '../src/cli/program.ts';
import { type Running, run } from '../src/main/runtime.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    exit: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
  },
});
const COUNT = Number(args.count);
if (!Number.isSafeInteger(COUNT) || COUNT <= 0) {
  console.error('--count must be a positive integer');
  process.exit(2);
}

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const say = (s = '') => process.stdout.write(`${s}\n`);
const fmt = (n: number) => n.toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface StepResult {
  name: string;
  ms: number;
  outcome: string;
}
const steps: StepResult[] = [];

/** Runs one demo step; a capability that is not there (404 route_not_found) is reported, not fatal. */
async function step<T>(name: string, fn: () => Promise<T>, describe: (value: T) => string): Promise<T | undefined> {
  say(bold(`\n▸ ${name}`));
  const started = Date.now();
  try {
    const value = await fn();
    const outcome = describe(value);
    steps.push({ name, ms: Date.now() - started, outcome });
    say(`  ${outcome}`);
    return value;
  } catch (error) {
    const missing = error instanceof ApiError && error.code === 'route_not_found';
    const outcome = missing ? 'not available in this build (skipped)' : `failed: ${(error as Error).message}`;
    steps.push({ name, ms: Date.now() - started, outcome });
    say(`  ${outcome}`);
    return undefined;
  }
}

function demoConfig(): { config: Config; env: Record<string, string> } {
  const base = process.env.DEMO_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/promo';
  const dbUrl = new URL(base);
  if (!process.env.DEMO_DATABASE_URL) dbUrl.pathname = '/promo_demo';
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: dbUrl.toString(),
    QUEUE_PREFIX: process.env.DEMO_QUEUE_PREFIX ?? 'promo_demo',
    PORT: process.env.DEMO_PORT ?? '3000',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    PROMO_BOOTSTRAP_KEY: process.env.PROMO_BOOTSTRAP_KEY ?? `pk_demo_${randomBytes(12).toString('hex')}`,
    MAIL_DIR: process.env.MAIL_DIR ?? path.join(ROOT, 'var', 'demo-mail'),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    EXPIRY_SWEEP_CRON: process.env.EXPIRY_SWEEP_CRON ?? '0 */5 * * * *',
  };
  return { config: loadConfig(env), env };
}

/** The demo's own database and queue prefix start empty on every run (never the ones `npm start` uses). */
async function resetDemoStores(config: Config): Promise<void> {
  const dbUrl = new URL(config.DATABASE_URL);
  const name = dbUrl.pathname.slice(1);
  const admin = new URL(dbUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  } finally {
    await client.end();
  }
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.QUEUE_PREFIX}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function startPlatform(config: Config): Promise<Running> {
  try {
    return await run(config, { api: true, workers: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      say(dim(`  port ${config.PORT} is busy; using a free port`));
      return run({ ...config, PORT: 0 }, { api: true, workers: true });
    }
    throw error;
  }
}

/** A local receiver for the demo's webhook: verifies each delivery's signature. */
async function startReceiver(): Promise<{
  server: Server;
  url: string;
  received: { type: string; verified: boolean }[];
  setSecret(s: string): void;
}> {
  const received: { type: string; verified: boolean }[] = [];
  let verifier: Webhook | undefined;
  const body = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (c) => {
        data += c;
      });
      req.on('end', () => resolve(data));
    });
  const server = createServer(async (req, res) => {
    const payload = await body(req);
    let verified = false;
    let type = 'unknown';
    try {
      verifier?.verify(payload, req.headers as Record<string, string>);
      verified = Boolean(verifier);
    } catch {}
    try {
      type = JSON.parse(payload).type ?? type;
    } catch {}
    received.push({ type, verified });
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}/hooks/promo`,
    received,
    setSecret(secret) {
      verifier = new Webhook(secret);
    },
  };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const { config, env } = demoConfig();
  say(bold('promo demo'));
  say(
    dim(
      `PostgreSQL ${new URL(config.DATABASE_URL).host}${new URL(config.DATABASE_URL).pathname}, Redis ${config.REDIS_URL}, queue prefix ${config.QUEUE_PREFIX}`,
    ),
  );

  if (!process.env.DEMO_DATABASE_URL && !args.keep) {
    await resetDemoStores(config);
    say(dim('demo database and queues reset (--keep to keep the previous run)'));
  }
  const running = await startPlatform(config);
  const url = running.url as string;
  const extraWorkers: ChildProcess[] = [];
  for (let i = 0; i < Number(args.workers); i++) {
    const child = spawn(process.execPath, ['src/main/worker.ts'], {
      cwd: ROOT,
      env: { ...env, RUN_MIGRATIONS: 'false' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    extraWorkers.push(child);
  }
  say(
    `platform up at ${url} (API + workers in this process, ${extraWorkers.length} more worker process${extraWorkers.length === 1 ? '' : 'es'})`,
  );
  const api = new PromoClient({ url, apiKey: config.PROMO_BOOTSTRAP_KEY });
  const receiver = await startReceiver();

  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) process.exit(code);
    shuttingDown = true;
    say(dim('\nstopping…'));
    for (const child of extraWorkers) child.kill('SIGTERM');
    await Promise.all(extraWorkers.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    receiver.server.close();
    await running.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const webhook = await step(
    'Register a webhook endpoint (a receiver this demo runs)',
    () => api.post('/v1/webhooks', { url: receiver.url, events: ['*'], description: 'promo demo receiver' }),
    (w) => {
      receiver.setSecret(w.secret);
      return `endpoint ${w.id} → ${receiver.url}`;
    },
  );

  const campaign = await step(
    'Create a campaign',
    () =>
      api.post('/v1/campaigns', {
        name: `Demo ${new Date().toISOString().slice(0, 19)}`,
        code_config: { pattern: 'DEMO-####-####-####' },
        metadata: { source: 'npm run demo' },
      }),
    (c) => `campaign ${c.id}, codes like ${c.code_template}`,
  );
  if (!campaign) return void (await shutdown(1));

  let genMs = 0;
  const generation = await step(
    `Generate ${fmt(COUNT)} codes`,
    async () => {
      const accepted = await api.post(
        `/v1/campaigns/${campaign.id}/generations`,
        { count: COUNT },
        { 'Idempotency-Key': `demo-${campaign.id}` },
      );
      say(
        dim(
          `  generation ${accepted.id}: ${accepted.chunk_count} chunks of ${fmt(accepted.chunk_size)}, ${accepted.entropy_bits} bits of entropy per code`,
        ),
      );
      const { generation: g, ms } = await followGeneration(api, accepted.id, { intervalMs: 250, quiet: false, interruptHint: false });
      genMs = ms;
      if (g.status !== 'completed') throw new Error(`generation ended ${g.status}: ${g.error ?? ''}`);
      return g;
    },
    (g) =>
      `${fmt(g.generated)} codes in ${(genMs / 1000).toFixed(1)} s (${fmt(Math.round(g.generated / (genMs / 1000)))} codes/s), ${g.collisions} collisions regenerated`,
  );

  const codes: string[] = (await api.get(`/v1/campaigns/${campaign.id}/vouchers?limit=3`).catch(() => ({ data: [] }))).data.map(
    (v: { code: string }) => v.code,
  );
  const [first, second, third] = codes;
  let redeemed = 0;
  let refusal = '';

  await step(
    'Validate a code',
    () => api.post('/v1/validations', { code: first, customer: { id: 'demo-customer-1' } }),
    (v) => `${first}: ${v.valid ? 'valid' : `invalid (${v.reason})`}`,
  );
  await step(
    'Redeem two codes',
    async () => {
      const results = [];
      for (const [code, customer] of [
        [first, 'demo-customer-1'],
        [second, 'demo-customer-2'],
      ] as const) {
        results.push(await api.post('/v1/redemptions', { code, customer: { id: customer } }, { 'Idempotency-Key': `demo-redeem-${code}` }));
        redeemed += 1;
      }
      return results;
    },
    (rs) => rs.map((r) => `${r.code ?? ''} redeemed (${r.id})`).join('; '),
  );
  await step(
    'Redeem the first code again (refused)',
    async () => {
      try {
        await api.post('/v1/redemptions', { code: first, customer: { id: 'demo-customer-3' } });
        return 'unexpectedly accepted';
      } catch (error) {
        if (error instanceof ApiError && error.status === 422) {
          refusal = error.code;
          return `refused: ${error.code} — ${(error.body as { detail?: string })?.detail ?? ''}`;
        }
        throw error;
      }
    },
    (s) => s,
  );
  await step(
    'Validate a code that does not exist',
    () => api.post('/v1/validations', { code: 'DEMO-0000-0000-0000' }),
    (v) => `DEMO-0000-0000-0000: ${v.valid ? 'valid?!' : `invalid (${v.reason})`}`,
  );

  const mailDir = config.MAIL_DIR;
  const publication = await step(
    'Publish a code to a customer by e-mail',
    async () => {
      const before = new Set(await readdir(mailDir).catch(() => []));
      const template = await api.post('/v1/templates', {
        name: 'Demo welcome',
        channel: 'email',
        subject: 'Your code for {{ campaign.name }}',
        text: 'Hello {{ customer.name }},\n\nyour code is {{ voucher.code }}.\n',
        html: '<p>Hello {{ customer.name }},</p><p>your code is <strong>{{ voucher.code }}</strong>.</p><p><img src="{{ voucher.qr_url }}" alt="QR code"></p>',
      });
      const p = await api.post('/v1/publications', {
        campaign_id: campaign.id,
        customer: { id: 'demo-customer-9', email: 'ada@example.com', name: 'Ada' },
        channel: 'email',
        template_id: template.id,
      });
      let file: string | undefined;
      for (let i = 0; i < 100 && !file; i++) {
        file = (await readdir(mailDir).catch(() => [] as string[])).find((f) => f.endsWith('.eml') && !before.has(f));
        if (!file) await sleep(100);
      }
      return { p, file };
    },
    ({ p, file }) =>
      `code ${p.code ?? p.voucher?.code ?? '?'} published to ada@example.com; ${config.SMTP_URL ? 'sent over SMTP' : file ? `e-mail written to ${path.relative(ROOT, path.join(mailDir, file))}` : 'e-mail queued'}`,
  );

  if (webhook) {
    await step(
      'Wait for webhook deliveries',
      async () => {
        for (let i = 0; i < 150 && receiver.received.length < 3; i++) await sleep(100);
        return receiver.received;
      },
      (r) =>
        r.length === 0
          ? 'none received yet (they retry in the background)'
          : `${r.length} signed deliveries received (${r.every((x) => x.verified) ? 'signatures verified' : 'SIGNATURE MISMATCH'}): ${[...new Set(r.map((x) => x.type))].join(', ')}`,
    );
  }
  void third;

  // Summary
  say(bold('\nSummary'));
  const width = Math.max(...steps.map((s) => s.name.length));
  for (const s of steps) say(`  ${s.name.padEnd(width)}  ${String(`${(s.ms / 1000).toFixed(1)} s`).padStart(7)}  ${s.outcome}`);
  say();
  say(`  codes generated       ${generation ? fmt(generation.generated) : '-'}`);
  say(`  generation time       ${genMs ? `${(genMs / 1000).toFixed(1)} s (${fmt(Math.round(COUNT / (genMs / 1000)))} codes/s)` : '-'}`);
  say(`  redemptions           ${redeemed} succeeded, 1 refused${refusal ? ` (${refusal})` : ''}`);
  say(`  e-mails               ${publication ? 1 : 0}${config.SMTP_URL ? '' : ` (.eml files in ${path.relative(ROOT, mailDir)})`}`);
  say(`  webhook deliveries    ${receiver.received.length}`);
  say(`  total                 ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  say();
  say(bold('Open'));
  say(`  Bull Board            ${url}/admin/queues`);
  say(`  Stats page            ${url}/admin/stats`);
  say(`  API reference         ${url}/docs`);
  say(`  Metrics               ${url}/metrics`);
  say(`  log in with any user name and the admin key as password: ${config.PROMO_BOOTSTRAP_KEY}`);
  say(dim(`  CLI: PROMO_URL=${url} PROMO_API_KEY=${config.PROMO_BOOTSTRAP_KEY} npx promo campaigns show ${campaign.id}`));

  if (args.exit || !process.stdin.isTTY) {
    if (!args.exit) say(dim('\n(no terminal: stopping; run in a terminal to keep the platform up)'));
    await shutdown(0);
  } else {
    say(dim('\nThe platform keeps running so you can look around. Ctrl-C to stop.'));
  }
}

main().catch((error) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});
