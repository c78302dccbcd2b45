import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { waitFor } from './platform.ts';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A Redis of the test's own, without persistence: a restart comes back empty, like losing the Redis host. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  await waitFor(async () => {
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      probe.disconnect();
      return false;
    }
  }, 10_000);
  probe.disconnect();
  return child;
}

/** Kills the Redis for real (SIGKILL) and waits for it to be gone. */
export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** A Redis of the test file's own, to take away from under a running platform and bring back empty. */
export interface OwnRedis {
  /** `redis://…` of it, once started (read it in a hook or test, or in a `useTestPlatform(() => …)`). */
  readonly url: string;
  /** Kills it for real (SIGKILL). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
}

/** Started before the file's tests on a free port; brought back after a test that left it down; stopped after all. */
export function useOwnRedis(): OwnRedis {
  let port = 0;
  let child: ChildProcess | undefined;
  const down = () => !child || child.exitCode !== null || child.signalCode !== null;
  beforeAll(async () => {
    port = await freePort();
    child = await startRedis(port);
  });
  // The platform (declared after it) stops cleanly only with its Redis there.
  afterEach(async () => {
    if (port && down()) child = await startRedis(port);
  });
  afterAll(async () => {
    if (child) await stopRedis(child);
  });
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    async kill() {
      if (child) await stopRedis(child);
    },
    async restart() {
      child = await startRedis(port);
    },
  };
}

/**
 * Deletes every key under a queue prefix in one step (a Lua script runs atomically), as FLUSHDB or a failover to an
 * empty replica would for a Redis that this prefix had to itself; other test files' prefixes are left alone.
 */
export async function flushPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url);
  try {
    const script = `local keys = redis.call('KEYS', ARGV[1])
      for i = 1, #keys, 5000 do redis.call('DEL', unpack(keys, i, math.min(i + 4999, #keys))) end
      return #keys`;
    return Number(await redis.eval(script, 0, `${prefix}:*`));
  } finally {
    redis.disconnect();
  }
}
