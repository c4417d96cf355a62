import type { Bus } from '../bus/bus.ts';
import { type HubObserver, JobHub, type SubscriberSink } from './hub.ts';
import type { FrameStyle } from '../profile.ts';
import { encodeComment } from './sse.ts';

export interface HubRegistryOptions {
  bus: Bus;
  historyMaxEvents: number;
  /** How long an unused hub keeps its cache and bus subscription before it is dropped. */
  lingerMs: number;
  heartbeatMs: number;
  observer?: HubObserver;
  /** Frame styles besides the uniform one that subscribers may ask for (a profile's drop-in style). */
  styles?: readonly FrameStyle[];
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

export function createHubRegistry(options: HubRegistryOptions): HubRegistry {
  const hubs = new Map<string, JobHub>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const heartbeatFrame = encodeComment();
  const heartbeat = setInterval(() => {
    for (const hub of hubs.values()) if (hub.size > 0) hub.heartbeat(heartbeatFrame);
  }, options.heartbeatMs);

  function drop(jobId: string, hub: JobHub): void {
    timers.delete(jobId);
    if (hub.refs > 0 || hubs.get(jobId) !== hub) return;
    hubs.delete(jobId);
    void hub.close().catch(() => undefined);
  }

  return {
    acquire(jobId) {
      let hub = hubs.get(jobId);
      if (!hub) {
        hub = new JobHub(jobId, options.bus, options.historyMaxEvents, options.observer, options.styles);
        hubs.set(jobId, hub);
      }
      const timer = timers.get(jobId);
      if (timer !== undefined) {
        clearTimeout(timer);
        timers.delete(jobId);
      }
      hub.refs++;
      const held = hub;
      let released = false;
      return {
        hub: held,
        release() {
          if (released) return;
          released = true;
          held.refs--;
          if (held.refs > 0) return;
          if (options.lingerMs <= 0) drop(jobId, held);
          else
            timers.set(
              jobId,
              setTimeout(() => drop(jobId, held), options.lingerMs),
            );
        },
      };
    },

    busy() {
      return [...hubs.values()].filter((hub) => hub.size > 0 || hub.endWaiting > 0);
    },

    subscriberCount() {
      let n = 0;
      for (const hub of hubs.values()) n += hub.size;
      return n;
    },

    waiterCount() {
      let n = 0;
      for (const hub of hubs.values()) n += hub.waiting;
      return n;
    },

    async drain(windowMs) {
      const open: { hub: JobHub; sink: SubscriberSink }[] = [];
      for (const hub of hubs.values()) for (const sink of hub.sinks()) open.push({ hub, sink });
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
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      const all = [...hubs.values()];
      hubs.clear();
      await Promise.all(all.map((hub) => hub.close()));
    },
  };
}
