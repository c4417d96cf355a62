/** A `text/event-stream` body that outlives its reader: writes after a cancel or close are dropped, never thrown. */
export interface SseSink {
  readonly body: ReadableStream<Uint8Array>;
  readonly closed: boolean;
  write(chunk: string | Uint8Array): void;
  close(): void;
}

/** Headers of every simulated stream response. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
};

/** One `data:` event frame; `eol` lets the garbage scenario use CRLF. */
export function dataFrame(json: string, eol = '\n'): string {
  return `data: ${json}${eol}${eol}`;
}

/** Creates a sink whose `closed` turns true when the consumer cancels, so the writer can stop quietly; `onCancel` runs then. */
export function createSseSink(onCancel?: () => void): SseSink {
  const encoder = new TextEncoder();
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let closed = false;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      closed = true;
      onCancel?.();
    },
  });
  return {
    body,
    get closed() {
      return closed;
    },
    write(chunk) {
      if (closed) return;
      try {
        controller?.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      } catch {
        closed = true;
      }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        controller?.close();
      } catch {
        // the reader is already gone
      }
    },
  };
}
