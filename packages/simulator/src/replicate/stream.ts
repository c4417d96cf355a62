import { createSseSink } from '../sse-sink.ts';
import type { PredictionRun, StreamEvent } from './run.ts';

/** How one prediction stream behaves. */
export interface PredictionStreamOptions {
  run: PredictionRun;
  /** End the stream after this many events (the prediction goes on). */
  dropAfter?: number;
  /** Mix junk a tolerant reader must skip between the events (`--sim-garbage`). */
  garbage: boolean;
}

/** Junk a reader of Replicate's stream must skip: comments, an event name it does not send, unnamed data, a `retry:`. */
const JUNK = [
  ': simulator comment, not an event\n\n',
  'event: foo\ndata: an event the vendor does not send\n\n',
  'data: {unnamed\n\n',
  'retry: 1000\n\n',
];

/** One event as Replicate frames it: `event:`, `id:` and one `data:` line per line of its data. */
function frame(event: StreamEvent, eol = '\n'): string {
  const data = event.data.split('\n').map((line) => `data: ${line}${eol}`);
  return `event: ${event.event}${eol}id: ${event.id}${eol}${data.join('')}${eol}`;
}

/**
 * The prediction's stream: every event so far, then each new one, closed after `done`. A reader that
 * connects late gets the whole stream again (the vendor's stream takes no `Last-Event-ID`).
 */
export function openPredictionStream(options: PredictionStreamOptions): ReadableStream<Uint8Array> {
  const { run } = options;
  let sent = 0;
  let unsubscribe = () => {};
  const sink = createSseSink(() => unsubscribe());
  const end = () => {
    unsubscribe();
    sink.close();
  };
  const send = (event: StreamEvent) => {
    if (sink.closed) return;
    if (options.garbage) {
      sink.write(JUNK[sent % JUNK.length] as string);
      const framed = frame(event, sent % 2 === 1 ? '\r\n' : '\n');
      const middle = Math.floor(framed.length / 2);
      if (sent % 3 === 2) for (const part of [framed.slice(0, middle), framed.slice(middle)]) sink.write(part);
      else sink.write(framed);
    } else sink.write(frame(event));
    sent++;
    if (event.event === 'done' || (options.dropAfter !== undefined && sent >= options.dropAfter)) end();
  };
  if (options.dropAfter === 0) end();
  else {
    for (const event of run.events()) send(event);
    if (!sink.closed) unsubscribe = run.subscribe(send);
  }
  return sink.body;
}
