import type { Cluster } from 'ioredis';
import type { PubSub } from './redis-fanout.ts';

/**
 * Sharded pub/sub on a Redis Cluster (SSUBSCRIBE, Redis 7+): a job's channel lives on the shard
 * that owns its slot, so an event reaches that shard's subscribers only. ioredis resubscribes by
 * itself after a node loss, a MOVED or the `sunsubscribe` Redis sends when a slot moves, and tells
 * no channel what it missed meanwhile: each of the subscriber group's node events is a resync,
 * after which the fanout reads every job's history from its last seq. Messages of channels that
 * `isJobChannel` rejects (the readiness canary's) are left to their own listener.
 */
export function shardedPubSub(cluster: Cluster, isJobChannel: (channel: string) => boolean): PubSub {
  return {
    subscribe: (channel) => cluster.ssubscribe(channel),
    // Never without a channel: ioredis cannot route a bare SUNSUBSCRIBE to a shard.
    unsubscribe: (channel) => cluster.sunsubscribe(channel),
    onMessage(listener) {
      cluster.on('smessage', (channel: string, message: string) => {
        if (isJobChannel(channel)) listener(channel, message);
      });
    },
    onResync(listener) {
      // subscribersReady: the group resubscribed after a topology change or a lost subscriber;
      // -node: a node's connection ended (a catch-up now waits for the new owner, retrying).
      for (const event of ['subscribersReady', '-node']) cluster.on(event, listener);
    },
  };
}
