import { EventSourceParserStream, type EventSourceMessage, ParseError } from 'eventsource-parser/stream';
import { type Clock, type TimerHandle, systemClock } from '../clock.ts';
import { RelayError } from '../errors.ts';
import type { JobEvent } from './event.ts';
import { MAX_JSON_DEPTH, jsonTooDeep } from './json-depth.ts';
import type { VendorMessage } from '../profile.ts';

/** Largest upstream event (characters buffered between two blank lines) by default: 4 Mi. */
export const DEFAULT_MAX_EVENT_CHARS = 4 << 20;

export interface ReadEventsOptions {
  /** Cuts every configured secret out of a message's fields before anything reads them. */
  redact(text: string): string;
  /** The profile's mapping of one (redacted) vendor message; `nextSeq` is the gateway's number for it. */
  toEvent(message: VendorMessage, nextSeq: number): JobEvent | string;
  /** The seq the gateway would give the next event (vendors that number none take it). */
  nextSeq(): number;
  onEvent(event: JobEvent): void | Promise<void>;
  /** A payload that is not a valid event, or an event over `maxEventChars` (counted, never forwarded). */
  onMalformed?(reason: string): void;
  /**
   * Longest the upstream may send nothing at all (not a byte, not a comment) before the read is
   * abandoned: the body is cancelled and readEvents rejects with `upstream_error`.
   */
  idleMs?: number;
  /** The idle limit's time and timer (default: the system's). */
  clock?: Clock;
  /** Stops reading: the body is cancelled and readEvents returns. */
  signal?: AbortSignal;
  /** Largest event the parser buffers; a bigger one is counted malformed and ends the read (`upstream_error`). */
  maxEventChars?: number;
}

/**
 * Bytes to text, decoded once (UTF-8 split across chunks is fine), noting each chunk's arrival;
 * a last event without its blank line is closed at the end, as a browser would not, but the
 * vendor's last event must not be lost.
 */
function decodeText(onBytes: () => void): TransformStream<Uint8Array, string> {
  const decoder = new TextDecoder();
  return new TransformStream({
    transform(chunk, controller) {
      onBytes();
      const text = decoder.decode(chunk, { stream: true });
      if (text) controller.enqueue(text);
    },
    flush(controller) {
      controller.enqueue(`${decoder.decode()}\n\n`);
    },
  });
}

/** Redacts each complete message (data and event name); a clean one is passed on as it is. */
function redactMessages(redact: (text: string) => string): TransformStream<EventSourceMessage, VendorMessage> {
  return new TransformStream({
    transform(message, controller) {
      const data = redact(message.data);
      if (message.event === undefined) controller.enqueue({ data });
      else controller.enqueue({ data, event: redact(message.event).replace(/[\r\n]/g, '') });
    },
  });
}

/**
 * Settles once reading must stop: the upstream sent not a byte for `idleMs` ('idle'; bytes without
 * a complete message, a comment or half an event, count as life), or the signal aborted.
 */
function stopWhen(clock: Clock, idleMs: number | undefined, lastBytes: () => number, signal?: AbortSignal) {
  let timer: TimerHandle | undefined;
  let onAbort = () => {};
  const stopped = new Promise<'idle' | 'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    if (signal?.aborted) return resolve('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (idleMs === undefined || idleMs <= 0) return;
    const check = () => {
      const left = lastBytes() + idleMs - clock.now();
      if (left <= 0) resolve('idle');
      else timer = clock.setTimeout(check, left);
    };
    check();
  });
  return {
    stopped,
    dispose() {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * The ingestion edge, one pipeline: the upstream body decoded once → eventsource-parser's
 * stream with a bounded buffer → each message redacted → the profile's mapping → `onEvent`, in
 * order. Comments and unknown fields are ignored; deep JSON and invalid events are counted.
 */
export async function readEvents(body: ReadableStream<Uint8Array>, options: ReadEventsOptions): Promise<void> {
  const clock = options.clock ?? systemClock;
  let lastBytes = clock.now();
  const maxEventChars = options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  const messages = body
    .pipeThrough(decodeText(() => void (lastBytes = clock.now())))
    .pipeThrough(new EventSourceParserStream({ maxBufferSize: maxEventChars }))
    .pipeThrough(redactMessages(options.redact));
  const reader = messages.getReader();
  const stop = stopWhen(clock, options.idleMs, () => lastBytes, options.signal);
  let finished = false;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<VendorMessage> | 'idle' | 'aborted';
      try {
        next = await Promise.race([reader.read(), stop.stopped]);
      } catch (err) {
        if (!(err instanceof ParseError && err.type === 'max-buffer-size-exceeded')) throw err;
        // Never buffered without limit: the event is dropped, and the stream's framing cannot be trusted after it.
        options.onMalformed?.(`event larger than ${maxEventChars} characters`);
        throw new RelayError('upstream_error', `upstream sent an event larger than ${maxEventChars} characters`, { cause: err });
      }
      if (next === 'aborted') return;
      if (next === 'idle') throw new RelayError('upstream_error', `upstream stream was silent for ${options.idleMs} ms`);
      if (next.done) {
        finished = true;
        return;
      }
      const message = next.value;
      // Too deep to store or serve (JSON.stringify of its job object would overflow the stack).
      const parsed = jsonTooDeep(message.data)
        ? `nested deeper than ${MAX_JSON_DEPTH} levels`
        : options.toEvent(message, options.nextSeq());
      if (typeof parsed === 'string') options.onMalformed?.(parsed);
      else await options.onEvent(parsed);
    }
  } finally {
    stop.dispose();
    // Abandoned (idle, aborted, a handler threw): the upstream connection is closed, not left hanging.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
