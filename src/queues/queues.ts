import { type DefaultJobOptions, FlowProducer, Queue } from 'bullmq';
import type { RedisClient } from './connection.ts';
import { QUEUE_NAMES, type QueueName } from './names.ts';

/** Retries with backoff; finished jobs kept long enough to inspect in Bull Board, then trimmed. */
export const defaultJobOptions: DefaultJobOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export interface QueueSet {
  readonly prefix: string;
  readonly flows: FlowProducer;
  get(name: QueueName): Queue;
  all(): Queue[];
  close(): Promise<void>;
}

/**
 * One Queue per name and a FlowProducer, all on the shared producer connection. They re-emit that connection's
 * errors; `onError` hears them (without a listener BullMQ prints them raw to stderr, outside the JSON logs).
 */
export function createQueues(connection: RedisClient, prefix: string, onError: (error: Error) => void): QueueSet {
  const queues = new Map<QueueName, Queue>(QUEUE_NAMES.map((name) => [name, new Queue(name, { connection, prefix, defaultJobOptions })]));
  const flows = new FlowProducer({ connection, prefix });
  for (const queue of queues.values()) queue.on('error', onError);
  flows.on('error', onError);
  return {
    prefix,
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
