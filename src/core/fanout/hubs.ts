import { type HubObserver, type HubSource, JobHub, type SubscriberSink } from './hub.ts';
import type { FrameStyle } from '../profile.ts';
import type { HubStats } from '../stats.ts';
import type { ReceiptBook } from './receipts.ts';
import { encodeComment } from './sse.ts';

export interface HubRegistryOptions {
  /** Each hub's live feed and history (the profile's view of the bus). */
  bus: HubSource;
  historyMaxEvents: number;
  /** How long an unused hub keeps its cache and bus subscription before it is dropped. */
  lingerMs: number;
  heartbeatMs: number;
  observer?: HubObserver;
  /** Where every hub counts (the relay's stats). */
  stats?: HubStats;
  /** Each hub's receipts are opened here, for the delivery lag. */
  receipts?: ReceiptBook;
  /** Frame styles besides the uniform one that subscribers may ask for (a profile's drop-in style). */
  styles?: readonly FrameStyle[];
  /** The uniform path's frames, when not the default (published jobs: the publisher's data and event names). */
  uniform?: FrameStyle;
}

/** A hub held open for one caller; `release` is safe to call twice. */
export interface HubLease {
  hub: JobHub;
  release(): void;
}

/** This instance's hubs, one per job with local interest, and the one heartbeat timer for all. */
export interface HubRegistry {
  acquire(jobId: string): HubLease;
  /** Hubs that have live subscribers, or callers waiting for the job's end, now. */
  busy(): JobHub[];
  subscriberCount(): number;
  /** Callers waiting on any hub for a job's end or next event (JobHub.waiting). */
  waiterCount(): number;
  /**
   * Ends every open stream, spread evenly over `windowMs` (so clients come back in a trickle,
   * not a storm); resolves with how many were ended once the last one is.
   */
  drain(windowMs: number): Promise<number>;
  close(): Promise<void>;
}

/** A drain ends streams in at most this many slices. */
const DRAIN_SLICES = 100;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A cached hub and its holders: subscribers and requests on their way to attach. Only the registry counts them. */
interface Entry {
  hub: JobHub;
  holders: number;
  /** Drops the hub once it has lingered unheld. */
  linger?: ReturnType<typeof setTimeout>;
}

export function createHubRegistry(options: HubRegistryOptions): HubRegistry {
  const entries = new Map<string, Entry>();
  const heartbeatFrame = encodeComment();
  const heartbeat = setInterval(() => {
    for (const { hub } of entries.values()) if (hub.size > 0) hub.heartbeat(heartbeatFrame);
  }, options.heartbeatMs);
  const hubs = () => [...entries.values()].map((entry) => entry.hub);

  function drop(jobId: string, entry: Entry): void {
    entry.linger = undefined;
    if (entry.holders > 0 || entries.get(jobId) !== entry) return;
    entries.delete(jobId);
    options.receipts?.close(jobId);
    void entry.hub.close().catch(() => undefined);
  }

  function release(jobId: string, entry: Entry): void {
    entry.holders--;
    if (entry.holders > 0) return;
    if (options.lingerMs <= 0) drop(jobId, entry);
    else entry.linger = setTimeout(() => drop(jobId, entry), options.lingerMs);
  }

  return {
    acquire(jobId) {
      let entry = entries.get(jobId);
      if (!entry) {
        const meters = {
          ...(options.stats ? { stats: options.stats } : {}),
          ...(options.receipts ? { receipts: options.receipts.open(jobId) } : {}),
        };
        entry = {
          hub: new JobHub(jobId, options.bus, options.historyMaxEvents, options.observer, options.styles, meters, options.uniform),
          holders: 0,
        };
        entries.set(jobId, entry);
      }
      if (entry.linger !== undefined) {
        clearTimeout(entry.linger);
        entry.linger = undefined;
      }
      entry.holders++;
      const held = entry;
      let released = false;
      return {
        hub: held.hub,
        release() {
          if (released) return;
          released = true;
          release(jobId, held);
        },
      };
    },

    busy() {
      return hubs().filter((hub) => hub.size > 0 || hub.endWaiting > 0);
    },

    subscriberCount() {
      let n = 0;
      for (const { hub } of entries.values()) n += hub.size;
      return n;
    },

    waiterCount() {
      let n = 0;
      for (const { hub } of entries.values()) n += hub.waiting;
      return n;
    },

    async drain(windowMs) {
      const open: { hub: JobHub; sink: SubscriberSink }[] = [];
      for (const hub of hubs()) for (const sink of hub.sinks()) open.push({ hub, sink });
      const slices = windowMs > 0 ? Math.min(open.length, DRAIN_SLICES) : 1;
      for (let slice = 0; slice < slices; slice++) {
        if (slice > 0) await sleep(windowMs / slices);
        const from = Math.floor((slice * open.length) / slices);
        const to = Math.floor(((slice + 1) * open.length) / slices);
        for (const { hub, sink } of open.slice(from, to)) {
          hub.endSubscriber(sink);
        }
      }
      return open.length;
    },

    async close() {
      clearInterval(heartbeat);
      const all = [...entries.values()];
      for (const jobId of entries.keys()) options.receipts?.close(jobId);
      entries.clear();
      for (const entry of all) clearTimeout(entry.linger);
      await Promise.all(all.map((entry) => entry.hub.close()));
    },
  };
}
