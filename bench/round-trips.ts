/**
 * Preloaded into a benchmark's worker processes (`node --import ./bench/round-trips.ts`): counts the round trips
 * they make to PostgreSQL (every statement a client sends, BEGIN and COMMIT included) and to Redis (every command
 * sent on its own, and every pipeline or MULTI as one), so a benchmark can print them per item. SIGUSR2 zeroes the
 * counts (the measured phase starts); on exit they are written to `$BENCH_ROUND_TRIPS_DIR/<pid>.json`.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Pipeline, Redis } from 'ioredis';
import pg from 'pg';

const counts = { postgres: 0, redis: 0 };
/** With BENCH_ROUND_TRIPS_DETAIL set: Redis commands by name (a script by its first key's last part). */
const detail = process.env.BENCH_ROUND_TRIPS_DETAIL ? new Map<string, number>() : undefined;

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  counts.postgres += 1;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

type RedisModule = { Redis: { prototype: { sendCommand: (...a: unknown[]) => unknown } }; Pipeline: unknown };

function countRedis(module: RedisModule): void {
  const proto = module.Redis.prototype;
  const sendCommand = proto.sendCommand;
  proto.sendCommand = function (this: unknown, ...args: unknown[]) {
    // A pipeline hands its commands over with its own stream: counted once, at exec.
    if (args[1] === undefined) {
      counts.redis += 1;
      if (detail) {
        const command = args[0] as { name: string; args: unknown[] };
        const name =
          command.name === 'evalsha'
            ? `evalsha:${String(command.args[2] ?? '')
                .split(':')
                .at(-1)}`
            : command.name;
        detail.set(name, (detail.get(name) ?? 0) + 1);
      }
    }
    return sendCommand.apply(this, args);
  };
  const pipeline = (module.Pipeline as { prototype: { exec: (...a: unknown[]) => unknown } }).prototype;
  const exec = pipeline.exec;
  pipeline.exec = function (this: unknown, ...args: unknown[]) {
    counts.redis += 1;
    return exec.apply(this, args);
  };
}

countRedis({ Redis, Pipeline } as unknown as RedisModule);
// BullMQ may carry its own copy of ioredis (for the connections it makes itself).
const require = createRequire(import.meta.url);
try {
  const own = require(require.resolve('ioredis', { paths: [dirname(require.resolve('bullmq'))] })) as RedisModule;
  if (own.Redis !== (Redis as unknown)) countRedis(own);
} catch {}

process.on('SIGUSR2', () => {
  counts.postgres = 0;
  counts.redis = 0;
});

const dir = process.env.BENCH_ROUND_TRIPS_DIR;
if (dir)
  process.on('exit', () =>
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(detail ? { ...counts, detail: Object.fromEntries(detail) } : counts)),
  );
