import { FlowProducer, Queue } from 'bullmq';
import type { Config } from '../../config/index.ts';
import { BASE_JOB_OPTIONS, QUEUE_NAMES, type QueueName } from './catalog.ts';
import { queuePrefix, type RedisClient } from './connection.ts';

export interface QueueSet {
  readonly prefix: string;
  /** Resolves the catalogue's configured job options (delivery retries, for one). */
  readonly config: Config;
  readonly flows: FlowProducer;
  get(name: QueueName): Queue;
  all(): Queue[];
  close(): Promise<void>;
}

/**
 * One Queue per catalogue queue and a FlowProducer, all on the shared producer connection. They re-emit that
 * connection's errors; `onError` hears them (without a listener BullMQ prints them raw to stderr, outside the JSON logs).
 * Producers reach them through enqueue.ts only.
 */
export function createQueues(connection: RedisClient, config: Config, onError: (error: Error) => void): QueueSet {
  const prefix = queuePrefix(config);
  const queues = new Map<QueueName, Queue>(
    QUEUE_NAMES.map((name) => [name, new Queue(name, { connection, prefix, defaultJobOptions: BASE_JOB_OPTIONS })]),
  );
  const flows = new FlowProducer({ connection, prefix });
  for (const queue of queues.values()) queue.on('error', onError);
  flows.on('error', onError);
  return {
    prefix,
    config,
    flows,
    get(name) {
      const queue = queues.get(name);
      if (!queue) throw new Error(`unknown queue ${name}`);
      return queue;
    },
    all: () => [...queues.values()],
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      await flows.close();
    },
  };
}
