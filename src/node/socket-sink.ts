import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SubscriberSink } from '../core/hub.ts';

export interface SocketSinkOptions {
  /** A subscriber with more than this many bytes not yet taken by the kernel is dropped. */
  maxQueuedBytes: number;
  /** The disconnect path: runs once, on end, on client disconnect, or when dropped. */
  onClose(): void;
}

const SINK = Symbol('sse-relay.sink');
type SinkHolder = ServerResponse & { [SINK]?: SocketSink };

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

function onResponseClose(this: SinkHolder): void {
  this[SINK]?.close();
}

/**
 * One subscriber written straight to its Node socket, after the response head went out through
 * the ServerResponse: no Web stream, no promise and no closure per write. Writes made in one
 * turn of the event loop are held and leave together at `setImmediate`: a lone frame as one
 * plain write, several as one `writev` of the shared buffers.
 */
export class SocketSink implements SubscriberSink {
  private readonly res: ServerResponse;
  private readonly socket: Socket;
  private readonly chunked: boolean;
  private readonly options: SocketSinkOptions;
  /** The first chunk held this turn, and any more after it. */
  private first: Buffer | Uint8Array | null = null;
  private more: Array<Buffer | Uint8Array> | null = null;
  private heldBytes = 0;
  private closed = false;

  constructor(res: ServerResponse, socket: Socket, options: SocketSinkOptions) {
    this.res = res;
    this.socket = socket;
    this.chunked = res.chunkedEncoding;
    this.options = options;
    (res as SinkHolder)[SINK] = this;
    res.once('close', onResponseClose);
  }

  write(bytes: Uint8Array): boolean {
    const socket = this.socket;
    if (this.closed || socket.destroyed) return false;
    if (socket.writableLength + this.heldBytes > this.options.maxQueuedBytes) return false;
    const chunk = this.chunked ? httpChunk(bytes) : bytes;
    this.heldBytes += chunk.byteLength;
    if (this.first === null) {
      this.first = chunk;
      if (held.length === 0) setImmediate(flushHeld);
      held.push(this);
    } else {
      (this.more ??= []).push(chunk);
    }
    return true;
  }

  /** Hands what this turn held to the socket (called once per turn for every sink written to). */
  flush(): void {
    const first = this.first;
    if (first === null) return;
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
    this.flush();
    if (!this.res.writableEnded) this.res.end();
    this.close();
  }

  /** The disconnect path: safe to run twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.off('close', onResponseClose);
    (this.res as SinkHolder)[SINK] = undefined;
    this.options.onClose();
  }
}
