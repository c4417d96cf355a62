import type { SubscriberSink } from '../core/fanout/hub.ts';
import type { NativeEdgeModule } from './native-edge.ts';
import { COPY_MAX_BYTES, CRLF, LAST_CHUNK, type SocketSinkInit, flushAfterTurn, httpChunk, streamHead } from './socket-sink.ts';

/** The most parts the edge takes in one write (native/edge.c, WRITE_PARTS). */
const WRITE_PARTS = 8;

/** What every native sink of an edge shares. */
export interface NativeSinkSettings {
  edge: NativeEdgeModule;
  /** How long an ended stream may take to hand its last bytes over before its connection is closed. */
  endGraceMs: number;
  /** The edge's streams by connection (its close callback finds the sink here). */
  streams: Map<number, NativeSink>;
}

/**
 * One subscriber on a connection of the native edge (native-edge.ts): the same bytes as a
 * {@link SocketSink} on a connection node:http never had (head, chunked frames, last chunk),
 * written by the edge's C code. Writes made in one turn of the event loop leave together at
 * `setImmediate`, as one write. The edge keeps what the kernel does not take (that is the
 * queue the cap applies to) and calls back when the client is gone.
 */
export class NativeSink implements SubscriberSink {
  private readonly id: number;
  private readonly maxQueuedBytes: number;
  private readonly onClose: () => void;
  private readonly settings: NativeSinkSettings;
  /** What this turn wrote, in order: the head (text, latin1) leads the first turn's. */
  private first: Uint8Array | string | null;
  private more: Uint8Array[] | null = null;
  private heldBytes: number;
  private closed = false;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(id: number, init: SocketSinkInit, settings: NativeSinkSettings) {
    this.id = id;
    this.maxQueuedBytes = init.maxQueuedBytes;
    this.onClose = init.onClose;
    this.settings = settings;
    settings.streams.set(id, this);
    // The head leaves with the first frames (retry, replay) in one write at the end of this turn,
    // gathered by the edge: no Buffer is made for it here.
    this.first = streamHead(init.headers, true);
    this.heldBytes = this.first.length;
    flushAfterTurn(this);
    if (settings.edge.stream(id) < 0) queueMicrotask(() => this.gone());
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    const queued = this.settings.edge.queued(this.id);
    if (queued < 0 || queued + this.heldBytes > this.maxQueuedBytes) return false;
    if (bytes.byteLength > COPY_MAX_BYTES) {
      this.hold(Buffer.from(`${bytes.byteLength.toString(16)}\r\n`, 'latin1'));
      this.hold(bytes);
      this.hold(CRLF);
    } else {
      this.hold(httpChunk(bytes));
    }
    return true;
  }

  private hold(chunk: Uint8Array): void {
    this.heldBytes += chunk.byteLength;
    if (this.first === null) {
      this.first = chunk;
      flushAfterTurn(this);
    } else {
      (this.more ??= []).push(chunk);
    }
  }

  /** Hands what this turn held to the edge (called once per turn for every sink written to). */
  flush(): void {
    const first = this.first;
    if (first === null) return;
    const more = this.more;
    this.first = null;
    this.more = null;
    this.heldBytes = 0;
    const { edge } = this.settings;
    if (more === null) {
      edge.write(this.id, first);
      return;
    }
    let total = typeof first === 'string' ? first.length : first.byteLength;
    for (const chunk of more) total += chunk.byteLength;
    if (total <= COPY_MAX_BYTES) {
      // One write: gathered by the edge (the head, retry and a short replay; or a turn's few
      // frames), or joined here when they are more parts than it takes (a burst).
      if (more.length < WRITE_PARTS) edge.write(this.id, first, ...more);
      else edge.write(this.id, Buffer.concat([typeof first === 'string' ? Buffer.from(first, 'latin1') : first, ...more], total));
      return;
    }
    edge.write(this.id, first);
    for (const chunk of more) edge.write(this.id, chunk);
  }

  /** Resets the connection: the client sees a broken stream, not a clean end. */
  abort(): void {
    if (this.closed) return;
    this.close();
    this.settings.streams.delete(this.id);
    this.settings.edge.destroy(this.id, true);
  }

  /** The last chunk and a FIN once everything is out; a client that does not take them within the grace loses the connection. */
  end(): void {
    if (this.closed) return;
    this.close();
    this.hold(LAST_CHUNK);
    this.flush();
    const { edge, endGraceMs, streams } = this.settings;
    if (edge.end(this.id) < 0) {
      streams.delete(this.id);
      return;
    }
    // Kept in `streams` until the client closes (the edge's close callback) or the grace is over.
    this.graceTimer = setTimeout(() => {
      streams.delete(this.id);
      // Still queued: the kernel's buffer is full too, the client is not reading (reset, freeing
      // both). All in the kernel: a slow reader may still take it, so close behind it.
      const queued = edge.queued(this.id);
      if (queued >= 0) edge.destroy(this.id, queued > 0);
    }, endGraceMs);
    this.graceTimer.unref();
  }

  /** The edge's close callback: the client closed or reset, or sent too much; runs the disconnect path. */
  gone(): void {
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.settings.streams.delete(this.id);
    this.close();
  }

  /** The disconnect path: safe to run twice. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
