import { RelayError } from '../core/errors.ts';
import type { CreateQueue, CreateQueueOptions } from '../core/queue/create-queue.ts';
import { type RedisTarget, connectRedis, within } from './redis-connect.ts';

export interface RedisQueueOptions extends CreateQueueOptions {
  /** One Redis server (or `target`). */
  url?: string;
  /** One Redis server or a Redis Cluster: the queue's keys share one hash tag, so one slot. */
  target?: RedisTarget;
  /** First part of every key (the bus's prefix). */
  keyPrefix?: string;
  /** The queue's name after the prefix, its keys' hash tag (default `queue`); one queue per upstream account. */
  name?: string;
  commandTimeoutMs?: number;
}

// Every script reads the clock of Redis (one clock for all instances) and prunes expired entries first.
const PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
end
`;

/** Join: KEYS order, expiry, ticket. ARGV id, ttlMs, max. Position, or -1 when full. */
const JOIN = `${PRELUDE}
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[3]), ARGV[1])
  rank = redis.call('ZRANK', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
return rank
`;

/** Refresh: KEYS order, expiry. ARGV id, ttlMs. Position, or -1 when the entry is gone. */
const REFRESH = `${PRELUDE}
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then return -1 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
return rank
`;

/** Size: KEYS order, expiry. Live entries. */
const SIZE = `${PRELUDE}
return redis.call('ZCARD', KEYS[1])
`;

interface QueueScripts {
  queueJoin(order: string, expiry: string, ticket: string, id: string, ttlMs: string, max: string): Promise<number>;
  queueRefresh(order: string, expiry: string, id: string, ttlMs: string): Promise<number>;
  queueSize(order: string, expiry: string): Promise<number>;
}

/**
 * The create queue shared by every instance: a sorted set of entry ids by arrival ticket and
 * one of their expiry times, under one hash tag (one Cluster slot), changed only by Lua scripts.
 * Its own connection, opened only when the queue is enabled.
 */
export function createRedisQueue(options: RedisQueueOptions): CreateQueue {
  const prefix = options.keyPrefix ?? 'sse-relay';
  const name = options.name ?? 'queue';
  const target = options.target ?? (options.url ? { url: options.url } : undefined);
  if (!target) throw new TypeError('a Redis queue needs a url or a target');
  const client = connectRedis(target, `${prefix}:${name}`, options.commandTimeoutMs);
  // Outages are reported by the callers' errors; an unhandled 'error' event must not crash the process.
  client.on('error', () => undefined);
  client.defineCommand('queueJoin', { numberOfKeys: 3, lua: JOIN });
  client.defineCommand('queueRefresh', { numberOfKeys: 2, lua: REFRESH });
  client.defineCommand('queueSize', { numberOfKeys: 2, lua: SIZE });
  const scripts = client as unknown as QueueScripts;
  const order = `${prefix}:{${name}}:order`;
  const expiry = `${prefix}:{${name}}:expiry`;
  const ticket = `${prefix}:{${name}}:ticket`;

  // A cluster queues commands while it has no node, with no timeout: bounded here.
  const clustered = 'cluster' in target;
  const limitMs = 2 * (options.commandTimeoutMs ?? 2000);
  async function guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await (clustered ? within(work(), limitMs) : work());
    } catch (err) {
      throw new RelayError('unavailable', 'create queue unavailable', { retryAfterS: 1, cause: err });
    }
  }

  return {
    async join(id, ttlMs) {
      const rank = await guard(() => scripts.queueJoin(order, expiry, ticket, id, String(Math.ceil(ttlMs)), String(options.max)));
      return rank < 0 ? null : rank;
    },
    async refresh(id, ttlMs) {
      const rank = await guard(() => scripts.queueRefresh(order, expiry, id, String(Math.ceil(ttlMs))));
      return rank < 0 ? null : rank;
    },
    async leave(id) {
      await guard(() => client.multi().zrem(order, id).zrem(expiry, id).exec());
    },
    size: () => guard(() => scripts.queueSize(order, expiry)),
    async close() {
      await client.quit().catch(() => undefined);
      client.disconnect();
    },
  };
}
