import { type Http2ServerResponse, constants } from 'node:http2';
import type { SubscriberSink } from '../core/fanout/hub.ts';
import type { SinkInit } from '../http/subscription-response.ts';

/** Headers that name the connection, forbidden in HTTP/2 (RFC 9113 §8.2.2): the SSE head's `Connection` is dropped. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export interface Http2SinkOptions extends SinkInit {
  /** How long an ended stream may take to hand its last bytes over before it is reset. */
  endGraceMs: number;
}

/**
 * One subscriber on an HTTP/2 stream (the SocketSink fast path is HTTP/1.1's: it takes the whole
 * connection, which here many streams share). Frames go straight to the stream; HTTP/2's flow
 * control holds what the client does not take, and a subscriber with more than `maxQueuedBytes`
 * waiting is dropped. The stream closing (reset by the client, the session gone) runs the
 * disconnect path; an abort resets the stream, so the client sees a broken one, not a clean end.
 */
export class Http2Sink implements SubscriberSink {
  private readonly stream: Http2ServerResponse['stream'];
  private readonly options: Http2SinkOptions;
  private closed = false;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onStreamClose = (): void => {
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.close();
  };

  constructor(res: Http2ServerResponse, options: Http2SinkOptions) {
    this.stream = res.stream;
    this.options = options;
    const stream = this.stream;
    stream.once('close', this.onStreamClose);
    stream.on('error', () => undefined);
    if (stream.destroyed || stream.closed) {
      // Gone already: the disconnect path runs once the hub has attached the sink.
      queueMicrotask(this.onStreamClose);
      return;
    }
    const head: Record<string, string | number> = { ':status': 200 };
    for (const [name, value] of Object.entries(options.headers)) {
      const lower = name.toLowerCase();
      if (!CONNECTION_HEADERS.has(lower)) head[lower] = value;
    }
    stream.respond(head);
  }

  write(bytes: Uint8Array): boolean {
    const stream = this.stream;
    if (this.closed || stream.destroyed) return false;
    if (stream.writableLength + bytes.byteLength > this.options.maxQueuedBytes) return false;
    stream.write(bytes);
    return true;
  }

  /** Resets the stream: the client sees a broken stream, not a clean end. */
  abort(): void {
    if (this.closed) return;
    this.close();
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }

  /** Ends the stream; a client that does not take its last bytes within the grace has it reset. */
  end(): void {
    if (this.closed) return;
    this.close();
    const stream = this.stream;
    if (stream.destroyed) return;
    stream.end();
    this.graceTimer = setTimeout(() => {
      if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    }, this.options.endGraceMs);
    this.graceTimer.unref();
  }

  /** The disconnect path: safe to run twice. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.stream.destroyed) this.stream.off('close', this.onStreamClose);
    this.options.onClose();
  }
}
