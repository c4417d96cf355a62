import type { Redis } from 'ioredis';
import type { BusListener, StoredEvent, Unsubscribe } from '../core/bus/bus.ts';
import type { Logger } from '../core/logger.ts';
import { decodeMessage } from './redis-schema.ts';

/** A job channel this instance listens to. */
interface Channel {
  jobId: string;
  listeners: Set<BusListener>;
  /** Settles when Redis confirmed the SUBSCRIBE and `floor` is known. */
  ready: Promise<void>;
  /** Highest seq delivered to the listeners. */
  delivered: number;
  /** The job's last seq when we subscribed: a catch-up never replays below it. */
  floor: number;
  /** Live events held back while a catch-up reads history; null when none runs. */
  held: StoredEvent[] | null;
  /** A resync came while a catch-up ran: run another after it. */
  again: boolean;
  /** Its last catch-up failed (a retry is due). */
  failing: boolean;
  /** True once `ready` has resolved. */
  opened: boolean;
}

/**
 * The pub/sub side of the bus's connection, as the fanout uses it: plain channels on one
 * Redis, shard channels on a Redis Cluster (src/node/redis-cluster-pubsub.ts).
 */
export interface PubSub {
  /** Resolves once Redis confirmed the subscription. */
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  /** Calls `listener` with each message of a job channel. */
  onMessage(listener: (channel: string, message: string) => void): void;
  /** Calls `listener` whenever messages may have been lost unseen (a reconnect, a node or slot change). */
  onResync(listener: () => void): void;
}

/** Plain pub/sub on one Redis connection: lost messages only while it reconnects. */
export function redisPubSub(subscriber: Redis): PubSub {
  return {
    subscribe: (channel) => subscriber.subscribe(channel),
    unsubscribe: (channel) => subscriber.unsubscribe(channel),
    onMessage: (listener) => void subscriber.on('message', listener),
    onResync(listener) {
      let connectedBefore = false;
      subscriber.on('ready', () => {
        if (connectedBefore) listener();
        connectedBefore = true;
      });
    },
  };
}

export interface FanoutOptions {
  /** The subscriber side of this instance's connection. */
  pubsub: PubSub;
  channelOf(jobId: string): string;
  lastSeq(jobId: string): Promise<number>;
  history(jobId: string, afterSeq: number): Promise<StoredEvent[]>;
  logger: Logger;
}

/** Wait before retrying a failed catch-up (a node still failing over). */
const RETRY_MS = 250;

/**
 * Fans one subscriber connection out to per-job listeners: SUBSCRIBE on a job's first
 * listener, UNSUBSCRIBE after its last. Pub/sub drops what is published while the
 * connection is down or moving, so after each resync every channel is caught up from
 * history, once per job however many listeners it has.
 */
export function createFanout(options: FanoutOptions) {
  const { pubsub: subscriber, logger } = options;
  const channels = new Map<string, Channel>();
  /** Channels whose catch-up is failing: logged when the first starts and the last stops, not per retry. */
  let failing = 0;

  function emit(channel: Channel, event: StoredEvent): void {
    if (event.seq <= channel.delivered) return;
    channel.delivered = event.seq;
    for (const listener of [...channel.listeners]) {
      try {
        listener(event);
      } catch {
        // A failing listener must not stop delivery to the others.
      }
    }
  }

  subscriber.onMessage((name, message) => {
    const channel = channels.get(name);
    if (!channel) {
      // A SUBSCRIBE that timed out client-side may still have reached Redis: undo it.
      subscriber.unsubscribe(name).catch(() => undefined);
      return;
    }
    const event = decodeMessage(message);
    if (!event) {
      logger.warn({ channel: name, bytes: message.length }, 'dropped a malformed bus message');
      return;
    }
    if (channel.held) channel.held.push(event);
    else emit(channel, event);
  });

  /** Subscribes again (confirmed), then reads what was stored since the last delivery; retried until it succeeds or the channel closes. */
  async function catchUp(name: string, channel: Channel): Promise<void> {
    if (channel.held) {
      channel.again = true;
      return;
    }
    channel.held = [];
    let failed = false;
    try {
      await subscriber.subscribe(name);
      const missed = await options.history(channel.jobId, Math.max(channel.delivered, channel.floor));
      for (const event of missed) emit(channel, event);
    } catch (err) {
      failed = true;
      if (failing === 0) logger.warn({ jobId: channel.jobId, err: String(err) }, 'bus catch-up after reconnect failed; retrying');
      setFailing(channel, true);
    } finally {
      const held = channel.held ?? [];
      channel.held = null;
      for (const event of held) emit(channel, event);
    }
    const current = channels.get(name) === channel;
    if (!failed || !current) setFailing(channel, false);
    const again = channel.again;
    channel.again = false;
    if (!current) return;
    if (failed)
      setTimeout(() => (channels.get(name) === channel ? void catchUp(name, channel) : setFailing(channel, false)), RETRY_MS).unref();
    else if (again) await catchUp(name, channel);
  }

  function setFailing(channel: Channel, now: boolean): void {
    if (channel.failing === now) return;
    channel.failing = now;
    failing += now ? 1 : -1;
    if (failing === 0) logger.info({}, 'bus catch-ups after reconnect done');
  }

  subscriber.onResync(() => {
    for (const [name, channel] of channels) if (channel.opened) void catchUp(name, channel);
  });

  async function open(name: string, channel: Channel): Promise<void> {
    await subscriber.subscribe(name);
    channel.floor = Math.max(channel.floor, await options.lastSeq(channel.jobId));
    channel.opened = true;
  }

  function remove(name: string, channel: Channel, listener: BusListener): Promise<void> {
    channel.listeners.delete(listener);
    if (channel.listeners.size > 0 || channels.get(name) !== channel) return Promise.resolve();
    channels.delete(name);
    return subscriber.unsubscribe(name).then(
      () => undefined,
      (err: unknown) => logger.warn({ jobId: channel.jobId, err: String(err) }, 'bus unsubscribe failed'),
    );
  }

  return {
    async subscribe(jobId: string, listener: BusListener): Promise<Unsubscribe> {
      const name = options.channelOf(jobId);
      let channel = channels.get(name);
      if (!channel) {
        const created: Channel = {
          jobId,
          listeners: new Set(),
          ready: Promise.resolve(),
          delivered: -1,
          floor: -1,
          held: null,
          again: false,
          failing: false,
          opened: false,
        };
        created.ready = open(name, created);
        channels.set(name, created);
        channel = created;
      }
      const joined = channel;
      joined.listeners.add(listener);
      try {
        await joined.ready;
      } catch (err) {
        await remove(name, joined, listener);
        throw err;
      }
      let done: Promise<void> | undefined;
      return () => (done ??= remove(name, joined, listener));
    },

    /** Job channels with local listeners. */
    size(): number {
      return channels.size;
    },
  };
}
