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

/** Sinks written to in this turn of the event loop, uncorked together once it is over. */
let corked: SocketSink[] = [];

function flushCorked(): void {
  const batch = corked;
  corked = [];
  for (const sink of batch) sink.uncork();
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
 * turn of the event loop leave in one `writev` (the socket is corked until `setImmediate`).
 */
export class SocketSink implements SubscriberSink {
  private readonly res: ServerResponse;
  private readonly socket: Socket;
  private readonly chunked: boolean;
  private readonly options: SocketSinkOptions;
  private isCorked = false;
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
    if (socket.writableLength > this.options.maxQueuedBytes) return false;
    if (!this.isCorked) {
      this.isCorked = true;
      socket.cork();
      if (corked.length === 0) setImmediate(flushCorked);
      corked.push(this);
    }
    socket.write(this.chunked ? httpChunk(bytes) : bytes);
    return true;
  }

  /** Sends what this turn queued (called once per turn for every sink written to). */
  uncork(): void {
    if (!this.isCorked) return;
    this.isCorked = false;
    this.socket.uncork();
  }

  end(): void {
    if (this.closed) return;
    this.uncork();
    if (!this.res.writableEnded) this.res.end();
    this.close();
  }

  /** The disconnect path: safe to run twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.off('close', onResponseClose);
    delete (this.res as SinkHolder)[SINK];
    this.options.onClose();
  }
}
