import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config/index.ts';
import { ApiKeyAuthenticator } from './auth/api-keys.ts';
import { ensureDatabase, initOrm, migrate } from './db/orm.ts';
import { sendStatementsUnnamed } from './db/prepared-statements.ts';
import { createPool, Database } from './db/sql.ts';
import { createProducerConnection, type RedisClient } from './queues/connection.ts';
import { createQueues, type QueueSet } from './queues/queues.ts';
import { type Clock, systemClock } from './shared/clock.ts';
import { createLogger, type Logger } from './shared/logger.ts';

/** Everything a use-case, route or job needs, created once per process. */
export interface Platform {
  readonly config: Config;
  readonly logger: Logger;
  readonly orm: MikroORM;
  readonly db: Database;
  readonly redis: RedisClient;
  /** API keys to identities, cached per process; revocations reach every process through Redis. */
  readonly apiKeys: ApiKeyAuthenticator;
  readonly queues: QueueSet;
  readonly clock: Clock;
  close(): Promise<void>;
}

export interface PlatformOptions {
  clock?: Clock;
  logger?: Logger;
}

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  await ensureDatabase(config.DATABASE_DIRECT_URL ?? config.DATABASE_URL);
  // The ORM serves plain CRUD only; hot paths use the raw pool, so the ORM's pool stays small.
  const orm = await initOrm({ databaseUrl: config.DATABASE_URL, poolSize: Math.max(2, Math.ceil(config.DATABASE_POOL_SIZE / 4)) });
  if (config.RUN_MIGRATIONS) {
    const applied = await migrate(orm);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }
  const db = new Database(
    createPool(config.DATABASE_URL, config.DATABASE_POOL_SIZE, (error) =>
      logger.warn({ err: error.message }, 'idle database connection lost; it will be replaced'),
    ),
  );
  if (!config.DATABASE_PREPARED_STATEMENTS) sendStatementsUnnamed(db.pool);
  const redis = createProducerConnection(config);
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  // The connection's own listener above reports an outage once; the queues' copies of it only at debug.
  const queues = createQueues(redis, config, (error) => logger.debug({ err: error.message }, 'queue error'));
  const apiKeys = new ApiKeyAuthenticator({ db, redis, settings: config, logger });
  return {
    config,
    logger,
    orm,
    db,
    redis,
    apiKeys,
    queues,
    clock: options.clock ?? systemClock,
    async close() {
      await apiKeys.close();
      await queues.close();
      redis.disconnect();
      await db.pool.end();
      await orm.close(true);
    },
  };
}
