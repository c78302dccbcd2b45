import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitFor } from './platform.ts';
import { freePort } from './redis-server.ts';

const run = promisify(execFile);

/** Whether a program is on the PATH (the tests that need it skip, saying so, when it is not). */
export async function hasProgram(name: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${name}`]).then(
    () => true,
    () => false,
  );
}

export interface LocalRedisCluster {
  /** `host:port,host:port,host:port`, as REDIS_CLUSTER_NODES takes them. */
  nodes: string;
  ports: number[];
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `masters` masters (no replicas) on spare ports, in a temporary directory, created with
 * `redis-cli --cluster create`; resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<LocalRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'promo-redis-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      ports.push(port);
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes'];
      args.push('--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '3000');
      args.push('--dir', dir, '--save', '', '--appendonly', 'no');
      children.push(spawn('redis-server', args, { stdio: 'ignore' }));
    }
    for (const port of ports) await waitFor(() => ping(port), 10_000, 50);
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const port of ports) await waitFor(() => clusterOk(port, masters), 30_000, 100);
    return { nodes: addresses.join(','), ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function withNode<T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T | false> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await work(redis);
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

const ping = (port: number) => withNode(port, async (r) => (await r.ping()) === 'PONG');

/** The node sees every master and every slot served. */
const clusterOk = (port: number, masters: number) =>
  withNode(port, async (r) => {
    const info = String(await r.call('CLUSTER', 'INFO'));
    return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`) && info.includes('cluster_slots_ok:16384');
  });
