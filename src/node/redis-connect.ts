import { Cluster, Redis } from 'ioredis';
import type { Config } from '../core/config.ts';

/** A Redis Cluster by its seed nodes, with what every node's connection needs. */
export interface ClusterTarget {
  /** Seed nodes `host:port`: any reachable one tells where the others are. */
  nodes: string[];
  username?: string;
  password?: string;
  tls?: boolean;
}

/** Where the gateway's Redis is: one server by URL, or a Redis Cluster by its seeds. */
export type RedisTarget = { url: string } | { cluster: ClusterTarget };

/** The configured Redis, if any (REDIS_URL or REDIS_CLUSTER_NODES; the config rules allow one). */
export function redisTargetOf(
  config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_USERNAME' | 'REDIS_PASSWORD' | 'REDIS_TLS'>,
): RedisTarget | undefined {
  if (config.REDIS_URL) return { url: config.REDIS_URL };
  const nodes = config.REDIS_CLUSTER_NODES ?? [];
  if (nodes.length === 0) return undefined;
  return {
    cluster: {
      nodes,
      ...(config.REDIS_USERNAME ? { username: config.REDIS_USERNAME } : {}),
      ...(config.REDIS_PASSWORD ? { password: config.REDIS_PASSWORD } : {}),
      tls: config.REDIS_TLS,
    },
  };
}

/** How often a Cluster connection re-reads the slot map (ioredis's own default is never). */
export const SLOTS_REFRESH_MS = 1000;

/** Commands queue while (re)connecting but fail after commandTimeout: nothing hangs while Redis is down. */
const commandOptions = (commandTimeoutMs: number) => ({
  commandTimeout: commandTimeoutMs,
  connectTimeout: 2000,
  maxRetriesPerRequest: 1,
});

/**
 * Rejects once `work` took longer than `ms`. A Cluster with no reachable node queues commands
 * with no timeout of its own (a node's `commandTimeout` starts only once a node has the command).
 */
export function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis in ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

const backoff = (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000);

/**
 * A connection to the target, named `name` in CLIENT LIST. On a cluster: commands go to each
 * slot's master, the slot map is re-read every SLOTS_REFRESH_MS, and sharded pub/sub
 * (SSUBSCRIBE) opens one subscriber connection per master that owns a subscribed channel.
 */
export function connectRedis(target: RedisTarget, name: string, commandTimeoutMs = 2000): Redis | Cluster {
  if ('url' in target) return new Redis(target.url, { connectionName: name, ...commandOptions(commandTimeoutMs), retryStrategy: backoff });
  const { nodes, username, password, tls } = target.cluster;
  return new Cluster(
    nodes.map((node) => {
      const colon = node.lastIndexOf(':');
      return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
    }),
    {
      shardedSubscribers: true,
      slotsRefreshInterval: SLOTS_REFRESH_MS,
      clusterRetryStrategy: backoff,
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 100,
      redisOptions: {
        connectionName: name,
        ...commandOptions(commandTimeoutMs),
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        ...(tls ? { tls: {} } : {}),
      },
    },
  );
}
