import { createParser } from 'eventsource-parser';
import { RelayError } from './errors.ts';
import { type JobEvent, parseEvent } from './event.ts';

export interface ReadEventsHandlers {
  onEvent(event: JobEvent): void | Promise<void>;
  /** A `data:` payload that is not a valid event (counted, never forwarded). */
  onMalformed?(reason: string): void;
  /**
   * Longest the upstream may send nothing at all (not even a comment) before the read is
   * abandoned: the body is cancelled and readEvents rejects with `upstream_error`.
   */
  idleMs?: number;
  /** Stops reading: the body is cancelled and readEvents returns. */
  signal?: AbortSignal;
}

type Chunk = ReadableStreamReadResult<Uint8Array> | 'idle' | 'aborted';

/** One read, unless the upstream stays silent for idleMs or the signal aborts first. */
function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>, idleMs: number | undefined, signal?: AbortSignal): Promise<Chunk> {
  if (signal?.aborted) return Promise.resolve('aborted');
  return new Promise<Chunk>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      settle();
      resolve('aborted');
    };
    if (idleMs !== undefined && idleMs > 0) {
      timer = setTimeout(() => {
        settle();
        resolve('idle');
      }, idleMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    reader.read().then(
      (result) => {
        settle();
        resolve(result);
      },
      (err: unknown) => {
        settle();
        reject(err);
      },
    );
  });
}

/**
 * Reads an upstream SSE body to its end: bytes → text (UTF-8 split across chunks is fine)
 * → eventsource-parser → validated events, in order. Comments and unknown fields are ignored.
 */
export async function readEvents(body: ReadableStream<Uint8Array>, handlers: ReadEventsHandlers): Promise<void> {
  const queue: string[] = [];
  const parser = createParser({
    onEvent(message) {
      queue.push(message.data);
    },
  });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let finished = false;
  try {
    for (;;) {
      const chunk = await readChunk(reader, handlers.idleMs, handlers.signal);
      if (chunk === 'aborted') return;
      if (chunk === 'idle') throw new RelayError('upstream_error', `upstream stream was silent for ${handlers.idleMs} ms`);
      const { done, value } = chunk;
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      if (text) parser.feed(text);
      if (done) parser.feed('\n\n');
      while (queue.length > 0) {
        const data = queue.shift() as string;
        const parsed = parseEvent(data);
        if (typeof parsed === 'string') handlers.onMalformed?.(parsed);
        else await handlers.onEvent(parsed);
      }
      if (done) {
        finished = true;
        return;
      }
    }
  } finally {
    // Abandoned (idle, aborted, a handler threw): the upstream connection is closed, not left hanging.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
