import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
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
