import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A connection to one Redis server or to a Redis Cluster: every Redis use in the platform works on either. */
export type RedisClient = Redis | Cluster;

export interface RedisNode {
  host: string;
  port: number;
}

/** Where Redis is: one server (a `redis://` or `rediss://` URL), or a cluster's seed nodes. */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | { kind: 'cluster'; nodes: RedisNode[]; username?: string; password?: string; tls: boolean };

export interface RedisSettings {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: string | undefined;
  QUEUE_PREFIX: string;
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/i;

/** `host:port` or `[v6-address]:port`. */
function parseNode(text: string): RedisNode {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) throw new Error(`"${text.trim()}" is not host:port`);
  return { host: (match[1] ?? match[2]) as string, port };
}

export function parseNodeList(text: string): RedisNode[] {
  const nodes = text
    .split(',')
    .filter((n) => n.trim() !== '')
    .map(parseNode);
  if (nodes.length === 0) throw new Error('no host:port given');
  return nodes;
}

/**
 * Cluster mode when REDIS_CLUSTER_NODES lists seed nodes (credentials and TLS then come from REDIS_URL), or when
 * REDIS_URL is `redis+cluster://[user:password@]host:port,host:port` (`rediss+cluster://` for TLS).
 */
export function redisTarget(settings: RedisSettings): RedisTarget {
  const clusterUrl = CLUSTER_URL.exec(settings.REDIS_URL);
  if (!clusterUrl && !settings.REDIS_CLUSTER_NODES) return { kind: 'standalone', url: settings.REDIS_URL };
  let username: string | undefined;
  let password: string | undefined;
  let tls: boolean;
  let seeds: string;
  if (clusterUrl) {
    tls = (clusterUrl[1] as string).toLowerCase() === 'rediss';
    const auth = clusterUrl[2];
    if (auth) {
      const colon = auth.indexOf(':');
      username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth) || undefined;
      password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : undefined;
    }
    seeds = settings.REDIS_CLUSTER_NODES ?? (clusterUrl[3] as string);
  } else {
    const url = new URL(settings.REDIS_URL);
    tls = url.protocol === 'rediss:';
    username = decodeURIComponent(url.username) || undefined;
    password = decodeURIComponent(url.password) || undefined;
    seeds = settings.REDIS_CLUSTER_NODES as string;
  }
  return { kind: 'cluster', nodes: parseNodeList(seeds), username, password, tls };
}

/** Redis Cluster keeps a multi-key command or script to keys of one slot: a `{tag}` in the key decides the slot. */
function hasHashTag(prefix: string): boolean {
  return /\{[^}]+\}/.test(prefix);
}

/**
 * The BullMQ prefix. BullMQ's scripts touch several keys of a queue at once, and a flow spans queues, so on a
 * cluster every queue key must hash to one slot: the prefix is hash-tagged (`{promo}`) unless it already is.
 */
export function queuePrefix(settings: RedisSettings): string {
  if (redisTarget(settings).kind === 'standalone' || hasHashTag(settings.QUEUE_PREFIX)) return settings.QUEUE_PREFIX;
  return `{${settings.QUEUE_PREFIX}}`;
}

/**
 * The prefix of the platform's own keys and channels (guessing counters, webhook pacing, locks, key revocation).
 * Without the hash tag, so these spread over a cluster's nodes: each multi-key script tags its own keys.
 */
export function keyPrefix(settings: RedisSettings): string {
  return settings.QUEUE_PREFIX.replace(/[{}]/g, '');
}

/** A slot of its own for the keys of one subject (an endpoint, a shopper), so a script over them runs on a cluster. */
export function hashTagged(value: string): string {
  return `{${value.replace(/[{}]/g, '')}}`;
}

function clusterOptions(target: Extract<RedisTarget, { kind: 'cluster' }>, redisOptions: RedisOptions): ClusterOptions {
  return {
    redisOptions: {
      ...redisOptions,
      username: target.username,
      password: target.password,
      ...(target.tls ? { tls: {} } : {}),
    },
    // A node that restarts or fails over comes back under the same or another address: follow MOVED and refresh.
    slotsRefreshInterval: 5_000,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
  };
}

function connect(settings: RedisSettings, options: RedisOptions): RedisClient {
  const target = redisTarget(settings);
  if (target.kind === 'standalone') return new Redis(target.url, options);
  return new Cluster(target.nodes, { ...clusterOptions(target, options), enableOfflineQueue: options.enableOfflineQueue ?? true });
}

/** For producers (HTTP intake): fail fast instead of queueing commands while Redis is away. */
export function createProducerConnection(settings: RedisSettings): RedisClient {
  return connect(settings, { maxRetriesPerRequest: 1, enableOfflineQueue: true });
}

/** For workers: BullMQ requires blocking connections that retry forever. */
export function createWorkerConnection(settings: RedisSettings): RedisClient {
  return connect(settings, { maxRetriesPerRequest: null });
}

/**
 * A plain connection to one server for SUBSCRIBE, whose own events tell when it is connected. On a cluster, any
 * node hears every (non-sharded) PUBLISH; `attempt` picks the seed, so a caller can move on from a dead node.
 */
export function createSubscriberConnection(settings: RedisSettings, attempt: number, options: RedisOptions = {}): Redis {
  const target = redisTarget(settings);
  if (target.kind === 'standalone') return new Redis(target.url, options);
  const node = target.nodes[attempt % target.nodes.length] as RedisNode;
  return new Redis({
    ...node,
    username: target.username,
    password: target.password,
    ...(target.tls ? { tls: {} } : {}),
    ...options,
  });
}
