import { Redis, type RedisOptions } from 'ioredis';

/** For producers (HTTP intake): fail fast instead of queueing commands while Redis is away. */
export function createProducerConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false } satisfies RedisOptions);
}

/** For workers: BullMQ requires blocking connections that retry forever. */
export function createWorkerConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null } satisfies RedisOptions);
}
