import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../config/index.ts';
import { run } from '../src/main/runtime.ts';

/** The repository's root: where the entrypoints run from. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export const PG_SERVER = process.env.BENCH_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';

/** A throwaway database for one benchmark run. */
export function benchDatabase(prefix = 'promo_bench'): { name: string; url: string; drop(): Promise<void> } {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  return {
    name,
    url: `${PG_SERVER}/${name}`,
    async drop() {
      const client = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
      await client.connect();
      await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      await client.end();
    },
  };
}

export function argValue(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const raw = index >= 0 ? process.argv[index + 1] : process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

/** Every option of a benchmark at once: `--name value` for each name of `defaults`, else its default. */
export function benchArgs<T extends Record<string, number>>(defaults: T): T {
  return Object.fromEntries(Object.entries(defaults).map(([name, fallback]) => [name, argValue(name, fallback)])) as T;
}

/** Peak resident set size of a process (VmHWM), in MB; Linux only. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** A process's /proc/<pid>/stat fields after its name: [0] state, [1] ppid, … [11] utime, [12] stime, [13] cutime, [14] cstime. */
function procStat(pid: number | string): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
}

/** CPU time (user + system) a process has used so far, in ms; with `children`, also its reaped children's (Linux /proc; 10 ms ticks). */
export function cpuMs(pid: number | string, children = false): number {
  const fields = procStat(pid);
  const own = Number(fields[11]) + Number(fields[12]);
  return (children ? own + Number(fields[13]) + Number(fields[14]) : own) * 10;
}

/** The machine's CPU time so far, in ms summed over its cores (Linux /proc/stat): busy, idle, and stolen by the hypervisor. */
export function machineCpuMs(): { busy: number; idle: number; steal: number } {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .split(/\s+/)
    .slice(1, 9)
    .map((v) => Number(v) * 10);
  return {
    busy: (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0),
    idle: (idle ?? 0) + (iowait ?? 0),
    steal: steal ?? 0,
  };
}

/**
 * CPU time the whole PostgreSQL server has used so far, in ms: the postmaster, every live child (backends,
 * autovacuum, WAL writer, checkpointer) and every child already gone (a backend of a closed connection). Local
 * server only (Linux /proc); `backendPid` is any backend's pid, `select pg_backend_pid()`.
 */
export function postgresCpuMs(backendPid: number): number {
  const postmaster = Number(procStat(backendPid)[1]);
  let total = cpuMs(postmaster, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(procStat(entry)[1]) === postmaster) total += cpuMs(entry);
    } catch {
      // Gone between the listing and the read: its time is in the postmaster's children's now.
    }
  }
  return total;
}

export function printTable(rows: [string, string | number][]): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
}

/** The environment that gives a benchmark process its own database and queue prefix, quiet logs. */
export function benchDatabaseEnv(db: { name: string; url: string }): Record<string, string> {
  return { DATABASE_URL: db.url, QUEUE_PREFIX: `promo_${db.name}`, LOG_LEVEL: 'warn' };
}

/** As benchDatabaseEnv, with the API on a free loopback port and a bootstrap key. */
export function benchEnv(db: { name: string; url: string }, apiKey: string): Record<string, string> {
  return {
    ...benchDatabaseEnv(db),
    PORT: '0',
    HOST: '127.0.0.1',
    PROMO_BOOTSTRAP_KEY: apiKey,
  };
}

/** The API in this process and `workerCount` worker processes, as operators run them, connected and idle. */
export async function startBenchStack(
  env: Record<string, string>,
  workerCount: number,
): Promise<{ url: string; workers: ChildProcess[]; stop(): Promise<void> }> {
  const running = await run(loadConfig({ ...process.env, ...env }), { api: true, workers: false });
  const root = REPO_ROOT;
  const workers = Array.from({ length: workerCount }, () =>
    spawn(process.execPath, ['src/main/worker.ts'], { cwd: root, env: { ...process.env, ...env }, stdio: 'inherit' }),
  );
  // Workers connected and idle before any clock starts.
  await new Promise((r) => setTimeout(r, 1500));
  return {
    url: running.url as string,
    workers,
    async stop() {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
      await running.stop();
    },
  };
}

/** A JSON call to the API with a key: GET without a body, POST with one; throws on a non-2xx answer. */
export async function benchCall(base: string, apiKey: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Stops worker processes (SIGTERM: they finish what they hold) and waits until each has exited. */
export async function stopWorkers(workers: readonly ChildProcess[]): Promise<void> {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null || w.signalCode !== null ? r(null) : w.once('exit', r)))));
}

/**
 * Where worker processes preloaded with bench/round-trips.ts write their PostgreSQL and Redis round-trip counts on
 * exit (pass `dir` as BENCH_ROUND_TRIPS_DIR); `read` sums them once the workers have exited.
 */
export function roundTripCounter(): { dir: string; read(): { postgres: number; redis: number }; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'promo-round-trips-'));
  return {
    dir,
    read() {
      const total = { postgres: 0, redis: 0 };
      const detail: Record<string, number> = {};
      for (const file of readdirSync(dir)) {
        const counts = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
          postgres: number;
          redis: number;
          detail?: Record<string, number>;
        };
        total.postgres += counts.postgres;
        total.redis += counts.redis;
        for (const [name, n] of Object.entries(counts.detail ?? {})) detail[name] = (detail[name] ?? 0) + n;
      }
      // BENCH_ROUND_TRIPS_DETAIL: the Redis commands by name, most first.
      if (Object.keys(detail).length > 0)
        console.error(
          Object.entries(detail)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 15),
        );
      return total;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
