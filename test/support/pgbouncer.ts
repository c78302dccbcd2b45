import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './platform.ts';
import { freePort } from './redis-server.ts';

export const PGBOUNCER = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

export interface LocalPgBouncer {
  /** `postgres://postgres@127.0.0.1:<port>`: append `/<database>`. */
  server: string;
  port: number;
  /** What PgBouncer logged (connections, errors), for assertions and failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A PgBouncer of the test's own in front of the local PostgreSQL, in transaction pooling mode, on a spare port, with
 * its own ini and auth file in a temporary directory. Any database name is passed through (`* =`).
 */
export async function startPgBouncer(options: { poolSize?: number } = {}): Promise<LocalPgBouncer> {
  const dir = await mkdtemp(join(tmpdir(), 'promo-pgbouncer-'));
  // PgBouncer refuses to run as root; as root it drops to the postgres user, which must read these files.
  await chmod(dir, 0o755);
  const port = await freePort();
  const ini = [
    '[databases]',
    '* = host=127.0.0.1 port=5432',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${join(dir, 'userlist.txt')}`,
    'pool_mode = transaction',
    'max_client_conn = 1000',
    `default_pool_size = ${options.poolSize ?? 8}`,
    'ignore_startup_parameters = extra_float_digits,options',
    '',
  ].join('\n');
  await writeFile(join(dir, 'pgbouncer.ini'), ini, { mode: 0o644 });
  await writeFile(join(dir, 'userlist.txt'), '"postgres" ""\n', { mode: 0o644 });
  const args = process.getuid?.() === 0 ? ['-u', 'postgres', join(dir, 'pgbouncer.ini')] : [join(dir, 'pgbouncer.ini')];
  const child: ChildProcess = spawn(PGBOUNCER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${output}`);
          const socket = createConnection(port, '127.0.0.1', () => {
            socket.end();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        }),
      10_000,
      50,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { server: `postgres://postgres@127.0.0.1:${port}`, port, log: () => output, stop };
}
