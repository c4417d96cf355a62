import { garbageFramesFor } from '../garbage.ts';
import { createSseSink, dataFrame } from '../sse-sink.ts';
import type { FalRun } from './request-run.ts';
import { statusObject } from './status.ts';
import type { FalLog, FalRequestView, FalUrls } from './status.ts';

/** How one status stream behaves. */
export interface StatusStreamOptions {
  run: FalRun;
  urls: FalUrls;
  /** `?logs=1`: events carry their new log lines, and each log line is an event. */
  logs: boolean;
  garbage: boolean;
  /** End the stream after this many events (the request goes on). */
  dropAfter?: number;
  /** Send nothing more after this many events, not even keep-alives, and stay open. */
  silentAfter?: number;
  keepAliveMs: number;
  /** Called once when the stream ends, whoever ended it. */
  onEnd: () => void;
}

/** An open status stream; `end` is safe to call twice. */
export interface StatusStream {
  readonly body: ReadableStream<Uint8Array>;
  end(): void;
}

const KEEP_ALIVE = ': keep-alive\n\n';
/** JSON a status reader must skip under `--sim-garbage`: an object with no `status` or `request_id`. */
const LOOKALIKE = JSON.stringify({ note: 'not a status object' });

/**
 * The request's current status first (with every log so far), then one event per position change, state
 * change or log line; closed right after `COMPLETED`, with nothing after it. Only `data:` lines and comments.
 */
export function openStatusStream(options: StatusStreamOptions): StatusStream {
  const { run, urls } = options;
  let sent = 0;
  let silent = options.silentAfter === 0;
  let ended = false;
  let unsubscribe = () => {};
  const sink = createSseSink(() => end());
  const keepAlive = setInterval(() => {
    if (sink.closed) end();
    else if (!silent) sink.write(KEEP_ALIVE);
  }, options.keepAliveMs);

  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    unsubscribe();
    sink.close();
    options.onEnd();
  };
  const send = (payload: Record<string, unknown>) => {
    if (silent || ended) return;
    const frames = options.garbage ? garbageFramesFor(payload, sent, LOOKALIKE) : [dataFrame(JSON.stringify(payload))];
    for (const frame of frames) sink.write(frame);
    sent++;
    if (options.dropAfter !== undefined && sent >= options.dropAfter) end();
    else if (options.silentAfter !== undefined && sent >= options.silentAfter) silent = true;
  };
  const sendNow = (pickLogs: (view: FalRequestView) => readonly FalLog[]): FalRequestView => {
    const view = run.view();
    send(statusObject(view, urls, options.logs ? pickLogs(view) : []));
    if (view.status === 'COMPLETED' && !silent) end();
    return view;
  };

  if (options.dropAfter === 0) end();
  else if (sendNow((view) => view.logs).status !== 'COMPLETED' && !ended) {
    unsubscribe = run.subscribe((change) => {
      if (change.kind !== 'log' || options.logs) sendNow(() => change.newLogs);
    });
  }
  return { body: sink.body, end };
}
