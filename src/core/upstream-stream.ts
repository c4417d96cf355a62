import { createParser } from 'eventsource-parser';
import { type JobEvent, parseEvent } from './event.ts';

export interface ReadEventsHandlers {
  onEvent(event: JobEvent): void | Promise<void>;
  /** A `data:` payload that is not a valid event (counted, never forwarded). */
  onMalformed?(reason: string): void;
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
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      if (text) parser.feed(text);
      if (done) parser.feed('\n\n');
      while (queue.length > 0) {
        const data = queue.shift() as string;
        const parsed = parseEvent(data);
        if (typeof parsed === 'string') handlers.onMalformed?.(parsed);
        else await handlers.onEvent(parsed);
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
