import type { SubscriberSink } from '../core/fanout/hub.ts';

export interface StreamSinkOptions {
  /** A subscriber further behind than this is dropped (it reconnects and resumes). */
  maxQueuedBytes: number;
  /** The disconnect path: runs once, on end, on client cancel, or when dropped. */
  onClose(): void;
}

/** A subscriber as a Web ReadableStream (every runtime can return it as a Response body). */
export function createStreamSink(options: StreamSinkOptions): { stream: ReadableStream<Uint8Array>; sink: SubscriberSink } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  const highWaterMark = Math.min(options.maxQueuedBytes, 1 << 20);

  function close(): void {
    if (closed) return;
    closed = true;
    options.onClose();
  }

  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      cancel() {
        close();
      },
    },
    { highWaterMark, size: (chunk) => chunk.byteLength },
  );

  const sink: SubscriberSink = {
    write(bytes) {
      if (closed) return false;
      const queued = highWaterMark - (controller.desiredSize ?? 0);
      if (queued > options.maxQueuedBytes) return false;
      controller.enqueue(bytes);
      return true;
    },
    abort() {
      if (closed) return;
      try {
        controller.error(new Error('the gateway ended this stream early'));
      } catch {
        // Already errored or closed by the runtime.
      }
      close();
    },
    end() {
      if (closed) return;
      try {
        controller.close();
      } catch {
        // Already errored or closed by the runtime.
      }
      close();
    },
  };
  return { stream, sink };
}
