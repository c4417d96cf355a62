import type { AppendInput, Bus, BusListener, JobState, PublishInput, PublishOutcome, StoredEvent, Unsubscribe } from '../core/bus/bus.ts';
import { errorMessage } from '../core/errors.ts';

/** One message pipe between two processes (a cluster worker's `process`, or the primary's `Worker`). */
export interface IpcChannel {
  /** Sends one message; `onError` runs if it cannot be delivered (the peer is gone). */
  send(message: BusMessage, onError?: (err: Error) => void): void;
  /** Registers a listener; returns its removal. */
  onMessage(listener: (message: unknown) => void): () => void;
  /** Runs `listener` once the peer is gone; returns its removal. */
  onDisconnect(listener: () => void): () => void;
}

/** Bus calls a remote client may make: everything but `subscribe` (its own message) and `close` (the host's). */
const METHODS = [
  'append',
  'appendMany',
  'publish',
  'history',
  'state',
  'acquireLease',
  'renewLease',
  'claimLease',
  'releaseLease',
  'ping',
] as const;
type Method = (typeof METHODS)[number];

/** Every message of this protocol carries this tag: the channel also carries Node's own (cluster) messages. */
const TAG = 'sse-relay.bus';

/** What a client asks: a call, a subscription `s` to job `j`, or its end. */
type BusRequest = { k: 'call'; m: Method; a: unknown[] } | { k: 'sub'; s: number; j: string } | { k: 'unsub'; s: number };

export type BusMessage =
  | (BusRequest & { tag: typeof TAG; c: number; id: number })
  | { tag: typeof TAG; k: 'ret'; c: number; id: number; v: unknown }
  | { tag: typeof TAG; k: 'err'; c: number; id: number; e: string }
  | { tag: typeof TAG; k: 'ev'; c: number; s: number; e: StoredEvent };

const isBusMessage = (message: unknown): message is BusMessage =>
  typeof message === 'object' && message !== null && (message as { tag?: unknown }).tag === TAG;

/**
 * Serves `bus` to the clients at the other end of `channel` (the embedded bus across processes:
 * the cluster primary holds the memory bus, workers reach it with {@link createIpcBus}). Returns
 * a function that drops the channel's subscriptions (call it when the peer has gone).
 */
export function serveBus(bus: Bus, channel: IpcChannel): () => Promise<void> {
  const subscriptions = new Map<string, Promise<Unsubscribe>>();
  // A peer that is gone gets nothing more; its subscriptions are dropped when the channel closes.
  const send = (message: BusMessage) => channel.send(message, ignore);
  const reply = (c: number, id: number, work: Promise<unknown>) =>
    work.then(
      // undefined (a void call) is left out of the message, null is kept.
      (v) => send({ tag: TAG, k: 'ret', c, id, v }),
      (err: unknown) => send({ tag: TAG, k: 'err', c, id, e: errorMessage(err) }),
    );
  const off = channel.onMessage((message) => {
    if (!isBusMessage(message)) return;
    switch (message.k) {
      case 'call': {
        const method = message.m;
        if (!METHODS.includes(method) || typeof bus[method] !== 'function') {
          void reply(message.c, message.id, Promise.reject(new Error(`no bus method ${String(method)}`)));
          return;
        }
        const fn = bus[method] as (...args: unknown[]) => Promise<unknown>;
        void reply(
          message.c,
          message.id,
          Promise.resolve().then(() => fn.apply(bus, message.a)),
        );
        return;
      }
      case 'sub': {
        const { c, s } = message;
        const key = `${c}:${s}`;
        const subscribed = bus.subscribe(message.j, (e) => send({ tag: TAG, k: 'ev', c, s, e }));
        subscriptions.set(key, subscribed);
        // A failed subscribe leaves nothing to undo.
        subscribed.catch(() => subscriptions.delete(key));
        void reply(
          c,
          message.id,
          subscribed.then(() => null),
        );
        return;
      }
      case 'unsub': {
        const key = `${message.c}:${message.s}`;
        const subscribed = subscriptions.get(key);
        subscriptions.delete(key);
        void reply(message.c, message.id, subscribed ? subscribed.then((unsubscribe) => unsubscribe()) : Promise.resolve());
        return;
      }
      default:
        return;
    }
  });
  return async () => {
    off();
    const all = [...subscriptions.values()];
    subscriptions.clear();
    await Promise.allSettled(all.map((subscribed) => subscribed.then((unsubscribe) => unsubscribe())));
  };
}

function ignore(): void {}

let clientSerial = 0;

/** A {@link Bus} whose every operation is carried out by the process at the other end of `channel` ({@link serveBus}). */
export function createIpcBus(channel: IpcChannel): Bus {
  const c = ++clientSerial;
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  const listeners = new Map<number, BusListener>();
  let nextId = 0;
  let closed = false;

  const off = channel.onMessage((message) => {
    if (!isBusMessage(message) || message.c !== c) return;
    if (message.k === 'ev') {
      const listener = listeners.get(message.s);
      if (!listener) return;
      try {
        listener(message.e);
      } catch {
        // A failing listener must not stop delivery to the others.
      }
      return;
    }
    if (message.k !== 'ret' && message.k !== 'err') return;
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (message.k === 'ret') call.resolve(message.v);
    else call.reject(new Error(`bus host: ${message.e}`));
  });

  let gone = false;
  const unreachable = (cause?: unknown) => new Error('bus host unreachable', { cause });
  const offDisconnect = channel.onDisconnect(() => {
    gone = true;
    for (const call of pending.values()) call.reject(unreachable());
    pending.clear();
  });

  function request<T>(message: BusRequest): Promise<T> {
    if (closed) return Promise.reject(new Error('bus client closed'));
    if (gone) return Promise.reject(unreachable());
    const id = ++nextId;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const fail = (err: unknown) => {
        if (pending.delete(id)) reject(unreachable(err));
      };
      try {
        channel.send({ ...message, tag: TAG, c, id }, fail);
      } catch (err) {
        fail(err);
      }
    });
  }
  const call = <T>(m: Method, ...a: unknown[]) => request<T>({ k: 'call', m, a });

  return {
    append: (jobId: string, event: AppendInput) => call<StoredEvent | null>('append', jobId, event),
    appendMany: (jobId: string, events: AppendInput[]) => call<(StoredEvent | null)[]>('appendMany', jobId, events),
    publish: (jobId: string, events: PublishInput[]) => call<PublishOutcome>('publish', jobId, events),
    history: (jobId: string, afterSeq: number) => call<StoredEvent[]>('history', jobId, afterSeq),
    state: (jobId: string) => call<JobState | null>('state', jobId),
    async subscribe(jobId: string, listener: BusListener): Promise<Unsubscribe> {
      const s = ++nextId;
      listeners.set(s, listener);
      try {
        await request({ k: 'sub', s, j: jobId });
      } catch (err) {
        listeners.delete(s);
        throw err;
      }
      return async () => {
        if (!listeners.delete(s) || closed) return;
        await request({ k: 'unsub', s });
      };
    },
    acquireLease: (jobId: string, owner: string, ttlMs: number) => call<boolean>('acquireLease', jobId, owner, ttlMs),
    renewLease: (jobId: string, owner: string, ttlMs: number) => call<boolean>('renewLease', jobId, owner, ttlMs),
    claimLease: (jobId: string, owner: string, ttlMs: number) => call<void>('claimLease', jobId, owner, ttlMs),
    releaseLease: (jobId: string, owner: string) => call<void>('releaseLease', jobId, owner),
    ping: () => call<void>('ping'),
    async close() {
      // The host's bus stays: it serves the other processes. This client's subscriptions go with it.
      const open = [...listeners.keys()];
      listeners.clear();
      await Promise.allSettled(open.map((s) => request({ k: 'unsub', s })));
      closed = true;
      off();
      offDisconnect();
      for (const call of pending.values()) call.reject(new Error('bus client closed'));
      pending.clear();
    },
  };
}

/** What carries messages: a cluster worker's `process`, a forked `ChildProcess`, or the primary's `Worker`. */
interface MessagePeer {
  send?(message: unknown, callback?: (err: Error | null) => void): boolean;
  on(event: 'message' | 'disconnect', listener: (message: unknown) => void): unknown;
  off(event: 'message' | 'disconnect', listener: (message: unknown) => void): unknown;
}

/** The IPC channel of a Node process handle. */
export function channelOf(peer: MessagePeer): IpcChannel {
  return {
    send(message, onError) {
      if (!peer.send) throw new Error('no IPC channel');
      peer.send(message, (err) => {
        if (err) onError?.(err);
      });
    },
    onMessage(listener) {
      peer.on('message', listener);
      return () => void peer.off('message', listener);
    },
    onDisconnect(listener) {
      peer.on('disconnect', listener);
      return () => void peer.off('disconnect', listener);
    },
  };
}
