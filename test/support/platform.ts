import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll } from 'vitest';
import { type Config, loadConfig } from '../../config/index.ts';
import { type Running, run } from '../../src/main/runtime.ts';
import { type RedisSettings, redisTarget } from '../../src/queues/connection.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { useForFile } from './hooks.ts';

export const TEST_PG = process.env.TEST_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';
export const TEST_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A database name and queue prefix of its own, so test files never see each other's state. */
export interface Isolation {
  id: string;
  env: Record<string, string>;
  apiKey: string;
}

export function isolation(overrides: Record<string, string> = {}): Isolation {
  const id = randomBytes(5).toString('hex');
  const apiKey = `pk_test_${randomBytes(16).toString('hex')}`;
  return {
    id,
    apiKey,
    env: {
      DATABASE_URL: `${TEST_PG}/promo_test_${id}`,
      REDIS_URL: TEST_REDIS,
      QUEUE_PREFIX: `promo_test_${id}`,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      PROMO_BOOTSTRAP_KEY: apiKey,
      DATABASE_POOL_SIZE: '10',
      // Every response a test receives is checked against its operation's declared schema.
      HTTP_RESPONSE_VALIDATION: 'true',
      ...overrides,
    },
  };
}

export interface TestPlatform extends Running {
  url: string;
  apiKey: string;
  config: Config;
  isolation: Isolation;
  /** fetch against the API with the test's admin key. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** Like api(), with the body parsed: `{ status, body, headers }`. */
  call(path: string, init?: RequestInit & { json?: unknown }): Promise<ApiResult>;
  /** Stops the platform, drops the database and deletes the queue keys. */
  destroy(): Promise<void>;
}

export interface ApiResult {
  status: number;
  body: any;
  headers: Headers;
}

export async function apiCall(base: string, key: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<ApiResult> {
  const res = await apiFetch(base, key, path, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: res.status, body, headers: res.headers };
}

export interface StartOptions {
  api?: boolean;
  workers?: boolean;
  env?: Record<string, string>;
  clock?: Clock;
}

export async function startTestPlatform(options: StartOptions = {}): Promise<TestPlatform> {
  const iso = isolation(options.env);
  const config = loadConfig(iso.env);
  const running = await run(config, { api: options.api ?? true, workers: options.workers ?? true, clock: options.clock });
  const url = running.url ?? '';
  return {
    ...running,
    url,
    apiKey: iso.apiKey,
    config,
    isolation: iso,
    api: (path, init = {}) => apiFetch(url, iso.apiKey, path, init),
    call: (path, init = {}) => apiCall(url, iso.apiKey, path, init),
    async destroy() {
      await running.stop();
      await dropIsolation(iso);
    },
  };
}

/**
 * The test file's platform: started before its tests, with `options` (or what `options()` returns then, for an env
 * that names servers an earlier hook started), and destroyed after them.
 */
export function useTestPlatform(options: StartOptions | (() => StartOptions) = {}): TestPlatform {
  return useForFile(
    'the test platform',
    () => startTestPlatform(typeof options === 'function' ? options() : options),
    (p) => p.destroy(),
  );
}

export function apiFetch(base: string, key: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${key}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  return fetch(`${base}${path}`, { ...init, headers, body });
}

export async function dropIsolation(iso: Isolation): Promise<void> {
  const name = new URL(iso.env.DATABASE_URL as string).pathname.slice(1);
  const client = new pg.Client({ connectionString: `${TEST_PG}/postgres` });
  await client.connect();
  // pg's pool.end() resolves before its sockets finish closing: let them go, so `with (force)` does not hit a
  // client that is still ending (its FATAL would surface as an unhandled error in the test process).
  for (let i = 0; i < 30; i++) {
    const { rows } = await client.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
    if (rows[0]?.n === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`).catch(() => undefined);
  await client.end();
  // A test's own Redis Cluster is thrown away whole by the test that started it.
  if (redisTarget(iso.env as unknown as RedisSettings).kind === 'cluster') return;
  const redis = new Redis(iso.env.REDIS_URL as string);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${iso.env.QUEUE_PREFIX}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

/** Runs an entrypoint (src/main/*.ts) as a separate process, as an operator would, with the test's isolation. */
export function spawnEntrypoint(entry: 'worker' | 'api' | 'all', iso: Isolation, env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [`src/main/${entry}.ts`], {
    cwd: ROOT,
    env: { ...process.env, ...iso.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/** Worker processes (`npm run worker`) on the file's platform, started by its tests; any left are killed after them. */
export interface WorkerProcesses {
  start(): ChildProcess;
  /** SIGTERM to every one still running, resolved when all have exited. */
  stop(): Promise<void>;
}

export function useWorkerProcesses(p: TestPlatform, env: Record<string, string>): WorkerProcesses {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
  return {
    start() {
      const child = spawnEntrypoint('worker', p.isolation, env);
      children.push(child);
      return child;
    },
    async stop() {
      const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
      for (const child of running) child.kill('SIGTERM');
      await Promise.all(running.map((child) => new Promise((resolve) => child.once('exit', resolve))));
    },
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
