import type { Config } from '../config/index.ts';
import { ensureDatabase, runMigrations } from './db/migrator.ts';
import { sendStatementsUnnamed } from './db/prepared-statements.ts';
import { createPool, Database } from './db/sql.ts';
import { createProducerConnection, type RedisClient } from './queues/connection.ts';
import { createQueues, type QueueSet } from './queues/queues.ts';
import { type Clock, systemClock } from './shared/clock.ts';
import { settlesWithin } from './shared/deadline.ts';
import { createLogger, type Logger } from './shared/logger.ts';
import { ProcessResources } from './shared/process-resources.ts';

/** Everything a use-case, route or job needs, created once per process. */
export interface Platform {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Database;
  readonly redis: RedisClient;
  readonly queues: QueueSet;
  readonly clock: Clock;
  /** What this process holds open beyond the pool and Redis (SMTP pools, batchers, pacers), closed by close(). */
  readonly resources: ProcessResources<Platform>;
  close(): Promise<void>;
}

export interface PlatformOptions {
  clock?: Clock;
  logger?: Logger;
}

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  let closed = false;
  await ensureDatabase(config.DATABASE_DIRECT_URL ?? config.DATABASE_URL);
  // The one pool of the process: every statement, COPY and migration; DATABASE_POOL_SIZE connections at most.
  const db = new Database(
    createPool({
      connectionString: config.DATABASE_URL,
      max: config.DATABASE_POOL_SIZE,
      connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      onConnectionLost: (error) => {
        // Connections still closing after close() (a database dropped at once, say) are no news.
        if (!closed) logger.warn({ err: error.message }, 'database connection lost; the pool opens a new one on next use');
      },
    }),
  );
  if (!config.DATABASE_PREPARED_STATEMENTS) sendStatementsUnnamed(db.pool);
  if (config.RUN_MIGRATIONS) {
    const applied = await runMigrations(db).catch(async (error) => {
      // A client a left-behind job still holds would keep end() waiting: its connection is cut with the process.
      if (!(await settlesWithin(db.pool.end(), 5_000))) logger.warn('database pool did not close within 5 s');
      throw error;
    });
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }
  const redis = createProducerConnection(config);
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  // The connection's own listener above reports an outage once; the queues' copies of it only at debug.
  const queues = createQueues(redis, config, (error) => logger.debug({ err: error.message }, 'queue error'));
  const resources = new ProcessResources<Platform>(() => platform);
  const platform: Platform = {
    config,
    logger,
    db,
    redis,
    queues,
    clock: options.clock ?? systemClock,
    resources,
    async close() {
      closed = true;
      await resources.close().catch((error) => logger.warn({ err: (error as Error).message }, 'a process resource did not close cleanly'));
      // A queue whose connection never answers again must not keep the process from stopping.
      if (!(await settlesWithin(queues.close(), 5_000))) logger.warn('queues did not close within 5 s; disconnecting');
      redis.disconnect();
      // A client a left-behind job still holds would keep end() waiting: its connection is cut with the process.
      if (!(await settlesWithin(db.pool.end(), 5_000))) logger.warn('database pool did not close within 5 s');
    },
  };
  return platform;
}
