import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { currentMasters, keySlot, nameOnShard } from './redis-slots.ts';

export interface CanaryOptions {
  /** The bus's key prefix: canary channels are `<prefix>:canary:{…}`. */
  prefix: string;
  /** Longest a published canary may take to come back. */
  timeoutMs: number;
}

/** The live feed's own health check on a Redis Cluster: one channel per shard that only this instance uses. */
export interface Canary {
  /**
   * Publishes on each shard's canary channel and resolves once every one came back through this
   * instance's subscriber connections; rejects naming the silent shards. Concurrent calls share one round.
   */
  probe(): Promise<void>;
  /** Whether a channel is one of the canary's (its messages are not job events). */
  isCanary(channel: string): boolean;
}

/**
 * A command answering proves little about pub/sub: a subscriber connection can be lost or left
 * unsubscribed while every command works. The canary proves the live feed end to end, per shard.
 */
export function createCanary(cluster: Cluster, options: CanaryOptions): Canary {
  const head = `${options.prefix}:canary:`;
  const instance = randomUUID();
  /** The channel used for each master (node key `host:port`), re-picked when its slot moves. */
  const channels = new Map<string, string>();
  const subscribed = new Set<string>();
  const waiting = new Map<string, { nonce: string; heard: () => void }>();
  let counter = 0;
  let round: Promise<void> | null = null;

  cluster.on('smessage', (channel: string, message: string) => {
    const waiter = waiting.get(channel);
    if (waiter && waiter.nonce === message) waiter.heard();
  });

  const ownerOf = (slot: number) => cluster.slots[slot]?.[0];

  function channelFor(master: string): string {
    const known = channels.get(master);
    if (known && ownerOf(keySlot(known)) === master) return known;
    const channel = nameOnShard(cluster, master, head, instance);
    if (known) {
      subscribed.delete(known);
      cluster.sunsubscribe(known).catch(() => undefined);
    }
    channels.set(master, channel);
    return channel;
  }

  async function check(master: string): Promise<void> {
    const channel = channelFor(master);
    const nonce = String(++counter);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const heard = new Promise<void>((resolve, reject) => {
      waiting.set(channel, { nonce, heard: resolve });
      timer = setTimeout(() => reject(new Error(`live feed of the shard at ${master} silent`)), options.timeoutMs);
    });
    try {
      if (!subscribed.has(channel)) {
        await cluster.ssubscribe(channel);
        subscribed.add(channel);
      }
      await cluster.spublish(channel, nonce);
      await heard;
    } catch (err) {
      // Subscribe again next time: the subscription may be what was lost.
      subscribed.delete(channel);
      throw err;
    } finally {
      clearTimeout(timer);
      waiting.delete(channel);
      heard.catch(() => undefined);
    }
  }

  async function run(): Promise<void> {
    const masters = await currentMasters(cluster);
    await Promise.all(masters.map(check));
  }

  return {
    probe() {
      round ??= run().finally(() => {
        round = null;
      });
      return round;
    },
    isCanary: (channel) => channel.startsWith(head),
  };
}
