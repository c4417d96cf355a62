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
  /** True once `ready` has resolved. */
  opened: boolean;
}

export interface FanoutOptions {
  /** The one subscriber connection of this instance. */
  subscriber: Redis;
  channelOf(jobId: string): string;
  lastSeq(jobId: string): Promise<number>;
  history(jobId: string, afterSeq: number): Promise<StoredEvent[]>;
  logger: Logger;
}

/**
 * Fans one subscriber connection out to per-job listeners: SUBSCRIBE on a job's first
 * listener, UNSUBSCRIBE after its last. Pub/sub drops what is published while the
 * connection is down, so after each reconnect every channel is caught up from history.
 */
export function createFanout(options: FanoutOptions) {
  const { subscriber, logger } = options;
  const channels = new Map<string, Channel>();
  let connectedBefore = false;

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

  subscriber.on('message', (name: string, message: string) => {
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

  async function catchUp(name: string, channel: Channel): Promise<void> {
    if (channel.held) return;
    channel.held = [];
    try {
      await subscriber.subscribe(name);
      const missed = await options.history(channel.jobId, Math.max(channel.delivered, channel.floor));
      for (const event of missed) emit(channel, event);
    } catch (err) {
      logger.warn({ jobId: channel.jobId, err: String(err) }, 'bus catch-up after reconnect failed');
    } finally {
      const held = channel.held ?? [];
      channel.held = null;
      for (const event of held) emit(channel, event);
    }
  }

  subscriber.on('ready', () => {
    if (connectedBefore) for (const [name, channel] of channels) if (channel.opened) void catchUp(name, channel);
    connectedBefore = true;
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
