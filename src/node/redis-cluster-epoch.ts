import type { Cluster } from 'ioredis';
import { currentMasters, nameOnShard } from './redis-slots.ts';

/**
 * Since when a Redis Cluster holds what it holds: one epoch key per shard (in a slot the shard
 * serves, the same for every instance), and the latest of them, since any shard may have restarted
 * empty. A shard's key goes with its data; the next read sets it to now, which only makes takeovers wait.
 */
export function clusterDataSince(cluster: Cluster, prefix: string): () => Promise<number> {
  return async () => {
    const masters = await currentMasters(cluster);
    const since = await Promise.all(
      masters.map(async (master) => {
        const key = nameOnShard(cluster, master, `${prefix}:epoch:`, 'shard');
        await cluster.set(key, String(Date.now()), 'NX');
        return Number((await cluster.get(key)) ?? Date.now());
      }),
    );
    return Math.max(...since);
  };
}
