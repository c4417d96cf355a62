import { createSseSink } from '../sse-sink.ts';
import type { EventLog } from './event-log.ts';
import { eventFrame, eventJson } from './framing.ts';
import { garbageFrames } from './garbage.ts';

/** How one stream of a response behaves. */
export interface ResponseStreamOptions {
  log: EventLog;
  /** Events with a sequence number above this are sent (-1: from the first). */
  after: number;
  includeObfuscation: boolean;
  garbage: boolean;
  /** Close cleanly after this many events, whatever the response does next. */
  dropAfter?: number | undefined;
  /** Send nothing after this many events but keep the connection open until the reader or the simulator closes it. */
  silentAfter?: number | undefined;
}

/** An open stream; `close()` (simulator shutdown) is safe to call twice. */
export interface ResponseStream {
  readonly body: ReadableStream<Uint8Array>;
  readonly closed: boolean;
  close(): void;
}

/** Subscribes one connection to a response's log: replay after `after`, then live, closed after the terminal event. */
export function openResponseStream(options: ResponseStreamOptions): ResponseStream {
  const { dropAfter, silentAfter } = options;
  let written = 0;
  let detached = false;
  let unsubscribe: (() => void) | undefined;
  const silent = () => silentAfter !== undefined && written >= silentAfter;
  const detach = () => {
    detached = true;
    unsubscribe?.();
  };
  const sink = createSseSink(detach); // the reader went away
  const cut = () => {
    sink.close();
    detach();
  };

  if (dropAfter === 0) cut();
  else {
    unsubscribe = options.log.subscribe(options.after, {
      event(event) {
        if (detached || silent()) return;
        const frames = options.garbage
          ? garbageFrames(event, written, options.includeObfuscation)
          : [eventFrame(event.type, eventJson(event, options.includeObfuscation))];
        for (const frame of frames) sink.write(frame);
        written++;
        if (dropAfter !== undefined && written >= dropAfter) cut();
      },
      end() {
        if (!silent()) sink.close();
      },
    });
    if (detached) unsubscribe();
  }

  return {
    body: sink.body,
    get closed() {
      return sink.closed;
    },
    close: cut,
  };
}
