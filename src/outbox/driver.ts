import pg from 'pg';
import type { Platform } from '../platform.ts';

export const OUTBOX_RELAY_JOB = 'outbox.relay';
export const OUTBOX_RELAY_SCHEDULER = 'outbox-relay';
/** emitEvent notifies this channel; PostgreSQL delivers the notification only when the transaction commits. */
export const OUTBOX_CHANNEL = 'promo_outbox';

const relayJobOptions = { removeOnComplete: true, removeOnFail: { count: 100 } } as const;

export interface RelayDriver {
  close(): Promise<void>;
}

/**
 * Keeps the relay running from every worker process that serves the `outbox` queue, so no single process is
 * needed: a BullMQ job scheduler every OUTBOX_RELAY_INTERVAL_MS (upserted again periodically and on every Redis
 * reconnect, in case Redis restarted empty), plus a wake-up job as soon as a transaction that emitted events
 * commits (LISTEN/NOTIFY), so delivery does not wait for the next tick.
 */
export function startRelayDriver(platform: Platform): RelayDriver {
  const { config, logger } = platform;
  const queue = platform.queues.get('outbox');
  let closed = false;

  const upsertScheduler = async () => {
    if (closed) return;
    try {
      await queue.upsertJobScheduler(
        OUTBOX_RELAY_SCHEDULER,
        { every: config.OUTBOX_RELAY_INTERVAL_MS },
        { name: OUTBOX_RELAY_JOB, data: {}, opts: relayJobOptions },
      );
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'outbox relay scheduler not upserted; retrying');
    }
  };

  let wakeQueued = false;
  const wake = () => {
    if (closed || wakeQueued) return;
    wakeQueued = true;
    // Coalesces a burst of commits into one relay job; a job already waiting covers them all.
    setTimeout(() => {
      wakeQueued = false;
      queue.add(OUTBOX_RELAY_JOB, {}, { ...relayJobOptions, jobId: `relay-wake-${Math.floor(Date.now() / 50)}` }).catch(() => undefined);
    }, 20);
  };

  const onRedisReady = () => {
    void upsertScheduler();
    wake();
  };
  platform.redis.on('ready', onRedisReady);
  void upsertScheduler();
  const refresh = setInterval(() => void upsertScheduler(), Math.max(5_000, config.OUTBOX_RELAY_INTERVAL_MS * 10));
  refresh.unref();

  let listener: pg.Client | undefined;
  let reconnect: NodeJS.Timeout | undefined;
  const listen = async () => {
    if (closed) return;
    const client = new pg.Client({ connectionString: config.DATABASE_URL });
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
      // Events committed while nobody listened are picked up by this wake or the next tick.
      wake();
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'outbox listener could not connect; the scheduler still relays');
      client.end().catch(() => undefined);
      if (!closed) reconnect = setTimeout(() => void listen(), 1_000);
    }
  };
  void listen();

  return {
    async close() {
      closed = true;
      clearInterval(refresh);
      clearTimeout(reconnect);
      platform.redis.off('ready', onRedisReady);
      await listener?.end().catch(() => undefined);
    },
  };
}
