import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SubscriberSink } from '../core/hub.ts';

export interface SocketSinkOptions {
  /** Status 200 and these headers are sent when the response gets its socket. */
  headers: Record<string, string>;
  /** A subscriber with more than this many bytes not yet taken by the kernel is dropped. */
  maxQueuedBytes: number;
  /** How long an ended stream may take to hand its last bytes to the kernel before its socket is destroyed. */
  endGraceMs: number;
  /** The disconnect path: runs once, on end, on client disconnect, or when dropped. */
  onClose(): void;
}

/** Sinks written to in this turn of the event loop, flushed together once it is over. */
let held: SocketSink[] = [];

function flushHeld(): void {
  const batch = held;
  held = [];
  for (const sink of batch) sink.flush();
}

/** The last frame wrapped as an HTTP/1.1 chunk: a broadcast writes one frame to every subscriber in a row. */
let lastFrame: Uint8Array | undefined;
let lastChunk: Buffer | undefined;

function httpChunk(frame: Uint8Array): Buffer {
  if (frame === lastFrame && lastChunk) return lastChunk;
  const head = `${frame.byteLength.toString(16)}\r\n`;
  const chunk = Buffer.allocUnsafe(head.length + frame.byteLength + 2);
  chunk.write(head, 0, 'latin1');
  chunk.set(frame, head.length);
  chunk.write('\r\n', head.length + frame.byteLength, 'latin1');
  lastFrame = frame;
  lastChunk = chunk;
  return chunk;
}

/**
 * One subscriber written straight to its Node socket, after the response head went out through
 * the ServerResponse: no Web stream, no promise and no closure per write. Writes made in one
 * turn of the event loop are held and leave together at `setImmediate`: a lone frame as one
 * plain write, several as one `writev` of the shared buffers.
 *
 * A pipelined request waits for the responses before it: its writes are held (within the
 * same cap) until node:http hands it the socket. Whatever state it is in, the connection
 * closing runs the disconnect path.
 */
export class SocketSink implements SubscriberSink {
  private readonly res: ServerResponse;
  private readonly socket: Socket;
  private readonly options: SocketSinkOptions;
  private chunked = false;
  /** True until node:http gives this response the socket (it is queued behind earlier ones). */
  private waiting: boolean;
  /** The first chunk held this turn, and any more after it. */
  private first: Buffer | Uint8Array | null = null;
  private more: Array<Buffer | Uint8Array> | null = null;
  private heldBytes = 0;
  private closed = false;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onSocketClose = (): void => {
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.close();
  };

  /** `socket` is the connection the request came on (the response may not have it yet). */
  constructor(res: ServerResponse, socket: Socket, options: SocketSinkOptions) {
    this.res = res;
    this.socket = socket;
    this.options = options;
    this.waiting = res.socket === null;
    socket.once('close', this.onSocketClose);
    // Gone already: the disconnect path runs once the hub has attached the sink.
    if (socket.destroyed) queueMicrotask(this.onSocketClose);
    else if (this.waiting) res.once('socket', () => this.start());
    else this.start();
  }

  /** Sends the head once the response owns the socket, then whatever was held meanwhile. */
  private start(): void {
    this.waiting = false;
    if (this.socket.destroyed) return;
    this.res.writeHead(200, this.options.headers);
    this.res.flushHeaders();
    this.chunked = this.res.chunkedEncoding;
    if (this.chunked && this.first !== null) {
      this.first = httpChunk(this.first);
      if (this.more) this.more = this.more.map((bytes) => httpChunk(bytes));
    }
    this.flush();
    if (this.closed) this.finish();
  }

  write(bytes: Uint8Array): boolean {
    const socket = this.socket;
    if (this.closed || socket.destroyed) return false;
    const queued = this.waiting ? 0 : socket.writableLength;
    if (queued + this.heldBytes > this.options.maxQueuedBytes) return false;
    const chunk = this.chunked ? httpChunk(bytes) : bytes;
    this.heldBytes += chunk.byteLength;
    if (this.first === null) {
      this.first = chunk;
      if (!this.waiting) {
        if (held.length === 0) setImmediate(flushHeld);
        held.push(this);
      }
    } else {
      (this.more ??= []).push(chunk);
    }
    return true;
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
    socket.cork();
    socket.write(first);
    for (const chunk of more) socket.write(chunk);
    socket.uncork();
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
    if (!this.res.writableEnded) this.res.end();
    if (this.res.writableFinished || this.socket.destroyed) return;
    this.graceTimer = setTimeout(() => {
      if (!this.res.writableFinished) this.socket.destroy();
    }, this.options.endGraceMs);
    this.graceTimer.unref();
  }

  /** The disconnect path: safe to run twice. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.off('close', this.onSocketClose);
    if (this.socket.destroyed && this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.options.onClose();
  }
}
