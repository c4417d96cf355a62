import type { EventLog, LiveFeed, StoredEvent, Unsubscribe } from '../bus/bus.ts';
import type { FrameStyle } from '../profile.ts';
import { type HubStats, createStats, observe } from '../stats.ts';
import type { Receipts } from './receipts.ts';
import { encodeStyled, encodeUnnumberedEvent } from './sse.ts';

/** What a hub reads of the bus: the job's live feed, and its history to fill in around it. */
export type HubSource = LiveFeed & Pick<EventLog, 'history'>;

/** Where a hub writes one subscriber's bytes; implemented per runtime (Web stream, Node socket). */
export interface SubscriberSink {
  /** Queues bytes; false means the subscriber is gone or too far behind, and the hub drops it. */
  write(bytes: Uint8Array): boolean;
  /** Ends the subscriber's stream; safe to call twice. */
  end(): void;
  /** Ends it as broken (the connection reset, no clean end), where the runtime can; else end() is used. */
  abort?(): void;
  /**
   * Set by a sink that frames each event itself (the multiplexed stream): it gets an event's cached
   * frame with its seq and terminal flag, one event per call, where other sinks get `write(frame)`.
   */
  writeEvent?(frame: Uint8Array, seq: number, terminal: boolean): boolean;
  /** Such a sink's notice that it will not get the events `from` to `to`, where other sinks get the `gap` frame. */
  writeGap?(from: number, to: number): boolean;
}

/** An event's frame, or a gap frame, as the hub hands it to its sinks (see SubscriberSink.writeEvent). */
type Delivery = { frame: Uint8Array; seq: number; terminal: boolean } | { frame: Uint8Array; from: number; to: number };

/** Writes bytes (a heartbeat), an event or a gap to one sink, as that sink takes them. */
function send(sink: SubscriberSink, item: Uint8Array | Delivery): boolean {
  if (item instanceof Uint8Array) return sink.write(item);
  if ('seq' in item) return sink.writeEvent ? sink.writeEvent(item.frame, item.seq, item.terminal) : sink.write(item.frame);
  return sink.writeGap ? sink.writeGap(item.from, item.to) : sink.write(item.frame);
}

/** Where a hub counts (its relay's stats, resolved once), and when its job's events were received here (the delivery lag). */
export interface HubMeters {
  stats?: HubStats;
  receipts?: Receipts;
}

/** What the hub reports to the outside (metrics, logs). */
export interface HubObserver {
  onDuplicate?(jobId: string, seq: number): void;
  onGap?(jobId: string, from: number, to: number): void;
  onDropped?(jobId: string): void;
}

export interface AttachResult {
  /** Frames written during replay (gap frame excluded). */
  replayed: number;
  /** True when the job was over and the sink has been ended after the replay. */
  ended: boolean;
}

/** The frames of one FrameStyle: the encoded cache and the subscribers who read this style. */
interface View {
  readonly style: FrameStyle;
  readonly frames: Uint8Array[];
  readonly subscribers: Set<SubscriberSink>;
  /** Subscribers that resumed past what this hub has seen: they join once it catches up. */
  readonly ahead: Map<SubscriberSink, number>;
  /** The last replay written in one piece, until the next event (see replayBytes). */
  replay: { items: Delivery[]; bytes: Uint8Array } | null;
}

/** The uniform path's style: no `event:` names, gap frames, 204 when finished. */
export const DEFAULT_FRAME_STYLE: FrameStyle = Object.freeze({});

/**
 * One job's events on this instance: a cache of encoded frames fed from the bus, and the
 * local subscribers. Replay and live hand-off happen synchronously, so no event is missed
 * or repeated however events and joins interleave. Frames are encoded once per event for
 * each frame style the hub was built with (the default one, plus a profile's drop-in style).
 * Its holders (the relay, a subscription) use ready, lastSeq, terminalSeq, isFinishedFor,
 * attach, detach, endSubscriber, onEvent and onEnd; its registry (hubs.ts) also heartbeat,
 * size, endWaiting, sinks and close, and counts its holders itself.
 */
export class JobHub {
  readonly jobId: string;
  private readonly bus: HubSource;
  private readonly maxEvents: number;
  private readonly observer: HubObserver;
  private readonly stats: HubStats;
  private readonly receipts: Receipts | undefined;
  private readonly seqs: number[] = [];
  /** The stored `prev` of each cached event: above the seq cached before it, events between were lost (a hole). */
  private readonly prevs: number[] = [];
  private readonly views: View[];
  /** Callers waiting for the job's end (see onEnd). */
  private readonly endWaiters = new Set<() => void>();
  /** Callers watching each event that reaches the cache (see onEvent). */
  private readonly eventWatchers = new Set<(event: StoredEvent) => void>();
  private pending: StoredEvent[] = [];
  private syncing = true;
  private unsubscribe: Unsubscribe | null = null;
  private readyPromise: Promise<void> | null = null;
  private closed = false;
  /** See lastSeq and terminalSeq: read-only outside. */
  private newest = -1;
  private terminal: number | null = null;

  /** `uniform`: the uniform path's frames (published jobs: the publisher's data and event names); default DEFAULT_FRAME_STYLE. */
  constructor(
    jobId: string,
    bus: HubSource,
    maxEvents: number,
    observer: HubObserver = {},
    styles: readonly FrameStyle[] = [],
    meters: HubMeters = {},
    uniform: FrameStyle = DEFAULT_FRAME_STYLE,
  ) {
    this.jobId = jobId;
    this.bus = bus;
    this.maxEvents = maxEvents;
    this.observer = observer;
    this.stats = meters.stats ?? createStats();
    this.receipts = meters.receipts;
    this.views = [uniform, ...styles.filter((style) => style !== uniform)].map((style) => ({
      style,
      frames: [],
      subscribers: new Set(),
      ahead: new Map(),
      replay: null,
    }));
  }

  /** Seq of the newest event in the cache, -1 before any. */
  get lastSeq(): number {
    return this.newest;
  }

  /** Seq of the terminal event once it has been seen. */
  get terminalSeq(): number | null {
    return this.terminal;
  }

  /** Subscribes to the bus and loads the history once; resolves when the cache is complete. */
  ready(): Promise<void> {
    // A bus that failed (Redis down) must not leave the hub broken: the next caller retries.
    this.readyPromise ??= this.start().catch((err: unknown) => {
      this.readyPromise = null;
      throw err;
    });
    return this.readyPromise;
  }

  private async start(): Promise<void> {
    this.unsubscribe ??= await this.bus.subscribe(this.jobId, (event) => this.onLive(event));
    if (this.closed) {
      await this.unsubscribe();
      return;
    }
    await this.fill(true);
  }

  /** Writes a heartbeat to every subscriber, including those waiting to catch up. */
  heartbeat(frame: Uint8Array): void {
    for (const view of this.views) {
      this.stats.bytesSent += this.broadcastTo(view, frame) * frame.byteLength;
      for (const sink of view.ahead.keys()) {
        if (sink.write(frame)) this.stats.bytesSent += frame.byteLength;
        else {
          view.ahead.delete(sink);
          this.drop(view, sink);
        }
      }
    }
  }

  /**
   * Calls `listener` once, when the terminal event reaches the cache or the hub closes (check
   * `terminalSeq` to tell which); returns its removal. Call after ready(), once terminalSeq is null.
   */
  onEnd(listener: () => void): () => void {
    this.endWaiters.add(listener);
    return () => void this.endWaiters.delete(listener);
  }

  /**
   * Calls `listener` with each event as it reaches the cache (from history or live, in seq order,
   * after its subscribers got it); returns its removal. A failing listener is ignored.
   */
  onEvent(listener: (event: StoredEvent) => void): () => void {
    this.eventWatchers.add(listener);
    return () => void this.eventWatchers.delete(listener);
  }

  /** Callers waiting for the job's end (onEnd): the job needs following as for a subscriber. */
  get endWaiting(): number {
    return this.endWaiters.size;
  }

  /** Callers waiting for the job's end or its next event (onEnd, onEvent). */
  get waiting(): number {
    return this.endWaiters.size + this.eventWatchers.size;
  }

  private notifyEvent(event: StoredEvent): void {
    for (const watcher of [...this.eventWatchers]) {
      try {
        watcher(event);
      } catch {
        // One failing watcher must not stop the others or the hub.
      }
    }
  }

  private notifyEnd(): void {
    const waiters = [...this.endWaiters];
    this.endWaiters.clear();
    for (const waiter of waiters) waiter();
  }

  /** Local subscribers, live or waiting to catch up. */
  get size(): number {
    let n = 0;
    for (const view of this.views) n += view.subscribers.size + view.ahead.size;
    return n;
  }

  /**
   * Loads history after lastSeq, then delivers what arrived live meanwhile. When the first
   * load fails, live events stay pending for the retry instead of being cached with a hole.
   */
  private async fill(initial = false): Promise<void> {
    this.syncing = true;
    let events: StoredEvent[] = [];
    try {
      events = await this.bus.history(this.jobId, this.lastSeq);
    } catch (err) {
      if (initial) throw err;
    }
    for (const event of events) this.ingest(event);
    this.syncing = false;
    const queued = this.pending;
    this.pending = [];
    // History was just read: whatever still does not connect is lost, say so in-band.
    for (const event of queued) this.deliver(event, true);
  }

  private onLive(event: StoredEvent): void {
    if (this.closed) return;
    if (this.syncing) {
      this.pending.push(event);
      return;
    }
    this.deliver(event, false);
  }

  private deliver(event: StoredEvent, afterFill: boolean): void {
    if (event.seq <= this.lastSeq) {
      this.stats.eventsDuplicate++;
      this.observer.onDuplicate?.(this.jobId, event.seq);
      return;
    }
    if (event.prev > this.lastSeq && !afterFill) {
      // Maybe only missed here: history tells. What it does not have is announced by ingest.
      this.pending.push(event);
      void this.fill().catch(() => undefined);
      return;
    }
    this.ingest(event);
  }

  /**
   * Caches an event and sends it to the live subscribers. Whoever is attached already gets a `gap`
   * frame first for events lost before it (its `prev` is above the last one here), from history
   * as much as live; the cache keeps its `prev`, so a later joiner's replay announces the hole too.
   */
  private ingest(event: StoredEvent): void {
    if (event.seq <= this.lastSeq || this.terminalSeq !== null) return;
    const from = this.lastSeq + 1;
    const gap = event.prev >= from && this.views.some((view) => view.subscribers.size > 0) ? gapFrame(from, event.prev) : undefined;
    if (gap) this.gapSeen(from, event.prev);
    this.seqs.push(event.seq);
    this.prevs.push(event.prev);
    const drop = this.seqs.length - this.maxEvents;
    if (drop > 0) {
      this.seqs.splice(0, drop);
      this.prevs.splice(0, drop);
    }
    this.newest = event.seq;
    const stats = this.stats;
    let delivered = 0;
    for (const view of this.views) {
      const frame = encodeStyled(view.style, event.seq, event.data);
      view.frames.push(frame);
      view.replay = null;
      if (drop > 0) view.frames.splice(0, drop);
      if (gap && !view.style.noGapFrames) stats.bytesSent += this.broadcastTo(view, gap) * gap.frame.byteLength;
      if (view.ahead.size > 0) this.admitCaughtUp(view, event);
      // A style may give an event no frame (Replicate's drop-in: a status change its stream never sends).
      if (frame.byteLength === 0) continue;
      const written = this.broadcastTo(view, { frame, seq: event.seq, terminal: event.terminal });
      delivered += written;
      stats.bytesSent += written * frame.byteLength;
    }
    if (delivered > 0) {
      stats.eventsDelivered += delivered;
      const receivedAt = this.receipts?.at(event.seq);
      if (receivedAt !== undefined) observe(stats.lag, Math.max(0, performance.now() - receivedAt) / 1000);
    }
    if (this.eventWatchers.size > 0) this.notifyEvent(event);
    if (event.terminal) {
      this.terminal = event.seq;
      for (const view of this.views) {
        // Out of the sets first: the disconnect path then finds them gone (see detach).
        const open = [...view.subscribers, ...view.ahead.keys()];
        view.subscribers.clear();
        view.ahead.clear();
        stats.ended.job_ended += open.length;
        for (const sink of open) sink.end();
      }
      this.notifyEnd();
    }
  }

  /**
   * Moves a view's subscribers whose resume point is below the event's seq into its live set,
   * after a `gap` frame for what they lack before it (the bus lost it while they waited).
   */
  private admitCaughtUp(view: View, event: StoredEvent): void {
    for (const [sink, since] of view.ahead) {
      if (since >= event.seq) continue;
      view.ahead.delete(sink);
      if (event.prev > since) this.gapSeen(since + 1, event.prev);
      if (event.prev > since && !view.style.noGapFrames && !this.writeOrDrop(view, sink, gapFrame(since + 1, event.prev))) continue;
      view.subscribers.add(sink);
    }
  }

  /** Writes to every live subscriber of the view; returns how many took it. */
  private broadcastTo(view: View, item: Uint8Array | Delivery): number {
    let written = 0;
    for (const sink of view.subscribers) {
      if (this.writeOrDrop(view, sink, item)) written++;
    }
    return written;
  }

  /** Writes to one subscriber; one that fails or falls too far behind is counted dropped and ended (false). */
  private writeOrDrop(view: View, sink: SubscriberSink, item: Uint8Array | Delivery): boolean {
    let ok = false;
    try {
      ok = send(sink, item);
    } catch {
      ok = false;
    }
    if (!ok) {
      view.subscribers.delete(sink);
      this.drop(view, sink);
    }
    return ok;
  }

  /** A subscriber too far behind (or whose write failed), already out of the view's sets: counted and ended. */
  private drop(view: View, sink: SubscriberSink): void {
    this.stats.subscribersDropped++;
    this.stats.ended.slow_consumer++;
    this.observer.onDropped?.(this.jobId);
    this.endEarly(view, sink, false);
  }

  private gapSeen(from: number, to: number): void {
    this.stats.gaps++;
    this.observer.onGap?.(this.jobId, from, to);
  }

  /** True when a client that has seen `since` has nothing more to get: the job is over. */
  isFinishedFor(since: number): boolean {
    return this.terminalSeq !== null && since >= this.terminalSeq;
  }

  /**
   * Replays cached events with seq > since (a `gap` frame first where some are missing: trimmed,
   * lost by the bus, or more than `maxReplay` due, of which only the newest `maxReplay` are sent), then adds
   * the sink to the live set, or ends it when the job is over. Call after ready(). `style` is
   * one the hub was built with (default: the uniform path's).
   */
  attach(sink: SubscriberSink, since: number, maxReplay = Number.POSITIVE_INFINITY, style?: FrameStyle): AttachResult {
    const view = style === undefined ? this.views[0] : this.views.find((candidate) => candidate.style === style);
    if (!view) throw new Error('JobHub.attach: a frame style this hub was not built with');
    const start = Math.max(firstAfter(this.seqs, since), this.seqs.length - maxReplay);
    const items: Delivery[] = [];
    let seen = since;
    for (let i = start; i < view.frames.length; i++) {
      const prev = this.prevs[i] as number;
      if (prev > seen) {
        this.gapSeen(seen + 1, prev);
        if (!view.style.noGapFrames) items.push(gapFrame(seen + 1, prev));
      }
      seen = this.seqs[i] as number;
      const frame = view.frames[i] as Uint8Array;
      if (frame.byteLength > 0) items.push({ frame, seq: seen, terminal: seen === this.terminalSeq });
    }
    const replayed = view.frames.length - start;
    if (items.length > 0) {
      // One write for a plain sink; one per event for a sink that frames events itself.
      const bytes = sink.writeEvent ? null : replayBytes(view, items);
      const written = bytes ? sink.write(bytes) : items.every((item) => send(sink, item));
      if (!written) {
        this.drop(view, sink);
        return { replayed, ended: true };
      }
      this.stats.bytesSent += bytes ? bytes.byteLength : items.reduce((n, item) => n + item.frame.byteLength, 0);
      this.stats.eventsReplayed += replayed;
      this.stats.eventsDelivered += replayed;
    }
    if (this.terminalSeq !== null) {
      this.stats.ended.job_ended++;
      sink.end();
      return { replayed, ended: true };
    }
    if (since > this.lastSeq) view.ahead.set(sink, since);
    else view.subscribers.add(sink);
    return { replayed, ended: false };
  }

  /** Every local subscriber, live or waiting to catch up. */
  sinks(): SubscriberSink[] {
    return this.views.flatMap((view) => [...view.subscribers, ...view.ahead.keys()]);
  }

  /**
   * Removes a subscriber (its disconnect path); safe to call twice. One the hub had not ended
   * itself (the job's end, a drop, the gateway's early end) is one whose client left.
   */
  detach(sink: SubscriberSink): void {
    for (const view of this.views) {
      if (view.subscribers.delete(sink) || view.ahead.delete(sink)) this.stats.ended.client_gone++;
    }
  }

  /**
   * Ends one subscriber before the job's terminal event (drain, shutdown, dropped): with its
   * style's early-end event when it takes one (`canWrite`), aborted when it cannot, else closed
   * (aborted instead with `neverClean`: for a client that would take a clean close for the job's end).
   */
  private endEarly(view: View, sink: SubscriberSink, canWrite: boolean, neverClean = false): void {
    const data = view.style.earlyEnd?.(this.lastSeq);
    if (data === undefined) {
      if (neverClean && sink.abort) sink.abort();
      else sink.end();
      return;
    }
    let written = false;
    if (canWrite) {
      try {
        written = sink.write(encodeUnnumberedEvent(view.style.eventName?.(data) ?? 'error', data));
      } catch {
        written = false;
      }
    }
    if (written || !sink.abort) sink.end();
    else sink.abort();
  }

  /**
   * Detaches a subscriber and ends its stream early (see endEarly): a drain's step, or a runtime's
   * stream-length cut. `neverClean`: a style without an early-end event has the stream aborted, not closed.
   */
  endSubscriber(sink: SubscriberSink, options: { neverClean?: boolean } = {}): void {
    for (const view of this.views) {
      if (view.subscribers.delete(sink) || view.ahead.delete(sink)) {
        this.stats.ended.server_closed++;
        this.endEarly(view, sink, true, options.neverClean);
        return;
      }
    }
    sink.end();
  }

  /** Stops listening to the bus and ends every subscriber (early: the job is not over for them). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const view of this.views) {
      const open = [...view.subscribers, ...view.ahead.keys()];
      view.subscribers.clear();
      view.ahead.clear();
      this.stats.ended.server_closed += open.length;
      for (const sink of open) this.endEarly(view, sink, true);
    }
    this.notifyEnd();
    if (this.unsubscribe) await this.unsubscribe();
  }
}

function gapFrame(from: number, to: number): Delivery {
  return { frame: encodeUnnumberedEvent('gap', JSON.stringify({ from, to })), from, to };
}

/** Index of the first seq greater than `since` in an ascending array. */
function firstAfter(seqs: readonly number[], since: number): number {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((seqs[mid] as number) <= since) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A replay's frames in one piece: the same bytes as the view's last replay when it was of the same
 * frames (a crowd joining at once, a reconnect storm resuming from one point), so they are joined
 * once and every sink's write sees bytes it has seen before.
 */
function replayBytes(view: View, items: Delivery[]): Uint8Array {
  if (items.length === 1) return (items[0] as Delivery).frame;
  const last = view.replay;
  if (last !== null && last.items.length === items.length && last.items.every((item, i) => item.frame === items[i]?.frame))
    return last.bytes;
  const bytes = concat(items);
  view.replay = { items, bytes };
  return bytes;
}

function concat(items: Delivery[]): Uint8Array {
  let length = 0;
  for (const { frame } of items) length += frame.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const { frame } of items) {
    out.set(frame, offset);
    offset += frame.byteLength;
  }
  return out;
}
