import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SubscriberSink } from '../core/fanout/hub.ts';
import { canDetachFromHttp, detachFromHttp } from './detach-socket.ts';

/** What one stream's sink is given: its head, its cap and its disconnect path (the `SinkInit` of subscription-response.ts). */
export interface SocketSinkInit {
  /** Status 200 and these headers are sent when the response gets its socket (not kept after). */
  headers: Record<string, string>;
  /** A subscriber with more than this many bytes not yet taken by the kernel is dropped. */
  maxQueuedBytes: number;
  /** The disconnect path: runs once, on end, on client disconnect, or when dropped. */
  onClose(): void;
}

/** What every sink of a server shares (one object for all of them). */
export interface SocketSinkSettings {
  /** How long an ended stream may take to hand its last bytes over before its socket is destroyed. */
  endGraceMs: number;
  /** Called with the socket once node:http has let go of it (the caller tracks it for shutdown). */
  onDetached?(socket: Socket): void;
}

/** Bytes a client may send on a stream's connection (pipelined requests, never answered) before it is cut. */
const MAX_INBOUND_BYTES = 64 * 1024;
export const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
export const CRLF = Buffer.from('\r\n', 'latin1');
/** Frames above this size (a replay) are framed as chunk head, frame and CRLF written together, not copied. */
export const COPY_MAX_BYTES = 16 * 1024;

/** Sinks written to in this turn of the event loop (socket and native ones), flushed together once it is over. */
let held: Array<{ flush(): void }> = [];
/** What runs once they have (the native edge submits the writes it batched). */
const afterFlush: Array<() => void> = [];

function flushHeld(): void {
  const batch = held;
  held = [];
  for (const sink of batch) sink.flush();
  for (const done of afterFlush) done();
}

/** Runs `done` every time the sinks written to in a turn have flushed (once, however often it is added). */
export function afterSinksFlush(done: () => void): void {
  if (!afterFlush.includes(done)) afterFlush.push(done);
}

/** Flushes `sink` once this turn of the event loop is over (one `setImmediate` for every sink written to in it). */
export function flushAfterTurn(sink: { flush(): void }): void {
  if (held.length === 0) setImmediate(flushHeld);
  held.push(sink);
}

/**
 * The last two frames wrapped as HTTP/1.1 chunks: a broadcast writes one frame to every
 * subscriber in a row, and new subscribers of a job each get the same two (retry, then the replay).
 */
let lastFrame: Uint8Array | undefined;
let lastChunk: Buffer | undefined;
let otherFrame: Uint8Array | undefined;
let otherChunk: Buffer | undefined;

export function httpChunk(frame: Uint8Array): Buffer {
  if (frame === lastFrame && lastChunk) return lastChunk;
  if (frame === otherFrame && otherChunk) return otherChunk;
  const head = `${frame.byteLength.toString(16)}\r\n`;
  const chunk = Buffer.allocUnsafe(head.length + frame.byteLength + 2);
  chunk.write(head, 0, 'latin1');
  chunk.set(frame, head.length);
  chunk.write('\r\n', head.length + frame.byteLength, 'latin1');
  otherFrame = lastFrame;
  otherChunk = lastChunk;
  lastFrame = frame;
  lastChunk = chunk;
  return chunk;
}

/** What a detached stream does with bytes the client still sends: nothing, up to a bound (request head included). */
function onInbound(this: Socket): void {
  if (this.bytesRead > MAX_INBOUND_BYTES) this.destroy();
}

function onInboundEnd(this: Socket): void {
  // A client that half-closes a stream is gone.
  this.destroy();
}

function ignore(): void {}

/** node:http's `Date` header value, made once a second (it changes no oftener). */
let dateSecond = -1;
let dateValue = '';
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

/** A stream's response head as node:http would write it for a connection it then closes. */
export function streamHead(headers: Record<string, string>, chunked: boolean): string {
  let head = 'HTTP/1.1 200 OK\r\n';
  // The connection closes with the stream: that is the one Connection header.
  for (const name in headers) if (name.toLowerCase() !== 'connection') head += `${name}: ${headers[name]}\r\n`;
  head += `Date: ${httpDate()}\r\nConnection: close\r\n`;
  if (chunked) head += 'Transfer-Encoding: chunked\r\n';
  return `${head}\r\n`;
}

/**
 * Closes a connection with a reset (RST): the kernel drops what it still holds for the client.
 * A plain destroy would leave a client that stopped reading pinning up to its send buffer
 * (`net.ipv4.tcp_wmem`, ~4 MB) in FIN-WAIT-1 for minutes after the stream is over.
 */
export function resetConnection(socket: Socket): void {
  if (socket.destroyed) return;
  socket.resetAndDestroy();
}

/**
 * One subscriber written straight to its Node socket. The head goes out through node:http's
 * ServerResponse (`Connection: close`), then the connection is taken from node:http (see
 * detachFromHttp) and the sink writes the chunked body and its end itself: no Web stream, no
 * promise and no closure per write, and no node:http objects kept per idle subscriber. Writes
 * made in one turn of the event loop are held and leave together at `setImmediate`: a lone
 * frame as one plain write, several as one `writev` of the shared buffers.
 *
 * A pipelined request waits for the responses before it: its writes are held (within the
 * same cap) until node:http hands it the socket, which never happens behind a stream (it
 * closes the connection). Whatever state it is in, the connection closing runs the disconnect path.
 */
export class SocketSink implements SubscriberSink {
  /** node:http's response and request, dropped once it has let go of the connection. */
  private res: ServerResponse | null;
  private req: IncomingMessage | null;
  private readonly socket: Socket;
  /** The head's headers, until it is written. */
  private headers: Record<string, string> | null;
  private readonly maxQueuedBytes: number;
  private readonly onClose: () => void;
  private readonly settings: SocketSinkSettings;
  private chunked = false;
  /** True once node:http has let go: the sink ends the body and the connection itself. */
  private detached = false;
  /** True until node:http gives this response the socket (it is queued behind earlier ones). */
  private waiting: boolean;
  /** The first chunk held this turn, and any more after it. */
  private first: Buffer | Uint8Array | null = null;
  private more: Array<Buffer | Uint8Array> | null = null;
  private heldBytes = 0;
  /** True until the head the sink wrote itself has gone out. */
  private opening = false;
  private closed = false;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onSocketClose = (): void => {
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.close();
  };

  /**
   * `socket` is the connection the request came on (the response may not have it yet). Without
   * `res`, the request was read off the socket by the Node edge itself (stream-shortcut.ts): an
   * HTTP/1.1 connection node:http never had, the sink's from the start.
   */
  constructor(res: ServerResponse | null, req: IncomingMessage | null, socket: Socket, init: SocketSinkInit, settings: SocketSinkSettings) {
    this.res = res;
    this.req = req;
    this.socket = socket;
    // Only what the stream needs for its life is kept (not `init`, which the caller may have built per request).
    this.headers = init.headers;
    this.maxQueuedBytes = init.maxQueuedBytes;
    this.onClose = init.onClose;
    this.settings = settings;
    this.waiting = res !== null && res.socket === null;
    // `on`, not `once`: close comes once, and `once` costs a wrapper and its state per subscriber.
    socket.on('close', this.onSocketClose);
    // Gone already: the disconnect path runs once the hub has attached the sink.
    if (socket.destroyed) queueMicrotask(this.onSocketClose);
    else if (this.waiting) res?.once('socket', () => this.start());
    else this.start();
  }

  /** Sends the head once the response owns the socket, with whatever was held meanwhile or is written this turn (retry, replay). */
  private start(): void {
    this.waiting = false;
    const socket = this.socket;
    if (socket.destroyed) return;
    const res = this.res;
    const req = this.req;
    const detach = res !== null && req !== null && canDetachFromHttp(socket, res);
    let head: Buffer | null = null;
    if (res === null) {
      this.chunked = true;
      head = Buffer.from(streamHead(this.headers as Record<string, string>, true), 'latin1');
      this.detached = true;
      this.own(socket);
    } else if (detach && req !== null) {
      // The head is ours: it leaves with the first frames (retry, replay) in one write, and node:http,
      // which lets go of the connection, never formats it.
      this.chunked = req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1);
      head = Buffer.from(streamHead(this.headers as Record<string, string>, this.chunked), 'latin1');
      this.detached = true;
      // Not while node:http's parser may still be running on this socket (the request can be routed synchronously).
      setImmediate(() => this.detach());
    } else {
      res.writeHead(200, this.headers as Record<string, string>);
      res.flushHeaders();
      this.chunked = res.chunkedEncoding;
    }
    if (this.chunked && this.first !== null) {
      this.first = httpChunk(this.first);
      if (this.more) this.more = this.more.map((bytes) => httpChunk(bytes));
    }
    this.headers = null;
    if (head !== null) {
      if (this.first !== null) (this.more ??= []).unshift(this.first);
      this.first = head;
      this.opening = true;
    }
    if (this.closed) this.finish();
    else if (this.first !== null) {
      // Out at the end of this turn, with the frames written in it.
      flushAfterTurn(this);
    }
  }

  private detach(): void {
    const socket = this.socket;
    const res = this.res;
    if (socket.destroyed || !res) return;
    detachFromHttp(socket, res, this.req);
    this.res = null;
    this.req = null;
    this.own(socket);
  }

  /** The connection is the sink's alone: it reads (and discards) what the client still sends, and is tracked for shutdown. */
  private own(socket: Socket): void {
    socket.on('data', onInbound);
    socket.on('end', onInboundEnd);
    socket.on('error', ignore);
    socket.resume();
    this.settings.onDetached?.(socket);
  }

  write(bytes: Uint8Array): boolean {
    const socket = this.socket;
    if (this.closed || socket.destroyed) return false;
    const queued = this.waiting ? 0 : socket.writableLength;
    if (queued + this.heldBytes > this.maxQueuedBytes) return false;
    if (this.chunked && bytes.byteLength > COPY_MAX_BYTES) {
      this.hold(Buffer.from(`${bytes.byteLength.toString(16)}\r\n`, 'latin1'));
      this.hold(bytes);
      this.hold(CRLF);
    } else {
      this.hold(this.chunked ? httpChunk(bytes) : bytes);
    }
    return true;
  }

  private hold(chunk: Buffer | Uint8Array): void {
    this.heldBytes += chunk.byteLength;
    if (this.first === null) {
      this.first = chunk;
      if (!this.waiting) {
        flushAfterTurn(this);
      }
    } else {
      (this.more ??= []).push(chunk);
    }
  }

  /** Hands what this turn held to the socket (called once per turn for every sink written to). */
  flush(): void {
    const first = this.first;
    if (first === null || this.waiting) return;
    const more = this.more;
    this.first = null;
    this.more = null;
    this.heldBytes = 0;
    const socket = this.socket;
    if (socket.destroyed) return;
    if (more === null) {
      socket.write(first);
      return;
    }
    if (this.opening) {
      this.opening = false;
      let total = first.byteLength;
      for (const chunk of more) total += chunk.byteLength;
      if (total <= COPY_MAX_BYTES) {
        // The stream's head, retry and a short replay: one copy and one plain write (a writev costs more for so little).
        socket.write(Buffer.concat([first, ...more], total));
        return;
      }
    }
    socket.cork();
    socket.write(first);
    for (const chunk of more) socket.write(chunk);
    socket.uncork();
  }

  /** Resets the connection: the client sees a broken stream, not a clean end. */
  abort(): void {
    if (this.closed) return;
    this.close();
    resetConnection(this.socket);
  }

  end(): void {
    if (this.closed) return;
    this.close();
    // A queued response ends when its turn comes: node:http sends its head then.
    if (!this.waiting) this.finish();
  }

  /** Ends the response; a client that does not take its last bytes within the grace loses the socket. */
  private finish(): void {
    this.flush();
    const socket = this.socket;
    if (socket.destroyed) return;
    const res = this.detached ? null : this.res;
    if (!res) {
      if (this.chunked) socket.end(LAST_CHUNK);
      else socket.end();
    } else {
      if (!res.writableEnded) res.end();
      if (res.writableFinished) return;
    }
    this.graceTimer = setTimeout(() => {
      // Detached: the client had its end and should have closed; else it never took the last bytes.
      if (res?.writableFinished) return;
      // Still queued in Node: the kernel's buffer is full too, the client is not reading (reset,
      // freeing both). All in the kernel: a slow reader may still take it, so close behind it.
      if (socket.writableLength > 0) resetConnection(socket);
      else socket.destroy();
    }, this.settings.endGraceMs);
    this.graceTimer.unref();
  }

  /** The disconnect path: safe to run twice. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.socket.destroyed) {
      this.socket.off('close', this.onSocketClose);
      if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    }
    this.onClose();
  }
}
