import pg from 'pg';
import type { Platform } from '../platform.ts';
import { enqueue } from '../queues/enqueue.ts';
import type { QueueSet } from '../queues/queues.ts';

/**
 * A bulk writer may `select pg_notify('promo_outbox', '')` once in its transaction to have the relay run as soon as
 * it commits. emitEvent does not: a notifying commit takes a cluster-wide lock, which serializes busy writers.
 */
export const OUTBOX_CHANNEL = 'promo_outbox';

export interface RelayDriver {
  close(): Promise<void>;
}

/**
 * Asks for a relay run now instead of at the next tick (after a commit that emitted events, or when Redis comes
 * back). Calls within the same 50 ms share one job.
 */
export async function wakeRelay(queues: QueueSet): Promise<void> {
  await enqueue(queues, 'outbox.relay', {});
}

/**
 * Besides its scheduler (`outbox-relay` in the catalogue, kept by jobs/schedules.ts in every process serving the
 * `outbox` queue), the relay runs at once when Redis comes back and when a transaction that notified
 * OUTBOX_CHANNEL commits.
 */
export function startRelayDriver(platform: Platform): RelayDriver {
  const { config, logger } = platform;
  let closed = false;

  const onRedisReady = () => {
    wakeRelay(platform.queues).catch(() => undefined);
  };
  platform.redis.on('ready', onRedisReady);

  let wakeQueued = false;
  const wake = () => {
    if (closed || wakeQueued) return;
    wakeQueued = true;
    setTimeout(() => {
      wakeQueued = false;
      wakeRelay(platform.queues).catch(() => undefined);
    }, 20);
  };

  let listener: pg.Client | undefined;
  let reconnect: NodeJS.Timeout | undefined;
  // LISTEN needs a session of its own: through a pooler in transaction mode it would listen on a server connection
  // handed to others right after. There, it takes DATABASE_DIRECT_URL, or the relay just polls.
  const listenUrl = config.DATABASE_DIRECT_URL ?? (config.DATABASE_PREPARED_STATEMENTS ? config.DATABASE_URL : undefined);
  const listen = async () => {
    if (closed || !listenUrl) return;
    const client = new pg.Client({ connectionString: listenUrl });
    client.on('notification', wake);
    client.on('error', (error) => {
      logger.warn({ err: error.message }, 'outbox listener lost its connection; reconnecting');
      client.end().catch(() => undefined);
      if (listener === client) listener = undefined;
      if (!closed) reconnect = setTimeout(() => void listen(), 1_000);
    });
    try {
      await client.connect();
      await client.query(`listen ${OUTBOX_CHANNEL}`);
      listener = client;
      if (closed) await client.end();
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'outbox listener could not connect; the scheduler still relays');
      client.end().catch(() => undefined);
      if (!closed) reconnect = setTimeout(() => void listen(), 1_000);
    }
  };
  if (listenUrl) void listen();
  else {
    logger.info(
      { intervalMs: config.OUTBOX_RELAY_INTERVAL_MS },
      'outbox listener off (DATABASE_PREPARED_STATEMENTS=false and no DATABASE_DIRECT_URL): the relay polls every OUTBOX_RELAY_INTERVAL_MS',
    );
  }

  return {
    async close() {
      closed = true;
      clearTimeout(reconnect);
      platform.redis.off('ready', onRedisReady);
      await listener?.end().catch(() => undefined);
    },
  };
}
