import type { SubscriberSink } from '../core/fanout/hub.ts';
import type { FrameStyle } from '../core/profile.ts';
import { RelayError } from '../core/errors.ts';
import type { SubscribeOutcome } from '../core/relay.ts';
import { MAX_SEQ } from '../core/ingest/event.ts';
import { SSE_HEADERS, encodeRetry } from '../core/fanout/sse.ts';
import { createStreamSink } from './stream-sink.ts';

/** What a runtime needs to open one subscriber's stream. */
export interface SinkInit {
  /** Status is 200; these are all the response headers (SSE ones included). */
  headers: Record<string, string>;
  /** A subscriber further behind than this is dropped (it reconnects and resumes). */
  maxQueuedBytes: number;
  /** The disconnect path: runs once, on end, on client disconnect, or when dropped. */
  onClose(): void;
}

/**
 * A runtime's own, faster way to serve this request's subscriber (Node writes straight to the socket).
 * Returns undefined when it cannot serve it, and the Web stream is used instead.
 */
export type SinkOpener = (init: SinkInit) => { sink: SubscriberSink; response: Response } | undefined;

/** The default sink: a Web ReadableStream returned as the Response body (every runtime can serve it). */
export function openStreamSink(init: SinkInit): { sink: SubscriberSink; response: Response } {
  const { stream, sink } = createStreamSink(init);
  return { sink, response: new Response(stream, { status: 200, headers: init.headers }) };
}

export interface SubscriptionResponseOptions {
  retryMs: number;
  maxQueuedBytes: number;
  headers?: Record<string, string>;
  /** Most events replayed to one subscriber; older ones are announced by a `gap` frame. */
  maxReplay?: number;
  /** Runs once when the subscriber is gone, however it went (or at once for a 204). */
  onClose?: () => void;
  /** The runtime's fast sink; default: the Web stream. */
  openSink?: SinkOpener;
  /** How frames look (a profile's drop-in style); default: the uniform path's. */
  style?: FrameStyle;
  /** Ends the stream after a while (a runtime's stream-length limit, the Worker's MAX_STREAM_MS); see StreamCut. */
  cut?: StreamCut;
}

/**
 * A live stream ended by the gateway after `afterMs`, through the hub (as a drain ends it). With
 * `tail` (a comment and `retry:`): those frames, then a clean close, for a client that reconnects
 * (EventSource resumes with Last-Event-ID). Without: never a clean close, as a drop-in SDK takes
 * one for the job's end: the style's early-end event (FrameStyle.earlyEnd), else an abort (which
 * workerd still delivers as a clean end, cloudflare/workerd#6818).
 */
export interface StreamCut {
  afterMs: number;
  tail?: readonly Uint8Array[];
}

/** Turns an opened subscription into the SSE Response: retry, replay after `since`, then live. */
export function subscriptionResponse(outcome: SubscribeOutcome, since: number, options: SubscriptionResponseOptions): Response {
  if (outcome.kind === 'finished') {
    options.onClose?.();
    // Some clients throw on 204 (OpenAI's SDK): their style asks for an empty, closed stream instead.
    if (options.style?.emptyWhenFinished)
      return new Response('', { status: 200, headers: Object.assign({}, SSE_HEADERS, options.headers) });
    return new Response(null, { status: 204, headers: options.headers });
  }
  const { hub, release } = outcome;
  let sink: SubscriberSink | undefined;
  let cutTimer: ReturnType<typeof setTimeout> | undefined;
  let gone = false;
  // What the disconnect path keeps for the stream's life: this, not the per-request `options`.
  const closed = options.onClose;
  const init: SinkInit = {
    // Not a spread: see subscriptions.ts.
    headers: Object.assign({}, SSE_HEADERS, options.headers),
    maxQueuedBytes: options.maxQueuedBytes,
    onClose() {
      gone = true;
      clearTimeout(cutTimer);
      if (sink) hub.detach(sink);
      release();
      closed?.();
    },
  };
  const opened = options.openSink?.(init) ?? openStreamSink(init);
  const attached = opened.sink;
  sink = attached;
  sink.write(encodeRetry(options.retryMs));
  hub.attach(sink, since, options.maxReplay, options.style);
  const cut = options.cut;
  if (cut && !gone) {
    cutTimer = setTimeout(() => {
      for (const frame of cut.tail ?? []) attached.write(frame);
      hub.endSubscriber(attached, { neverClean: cut.tail === undefined });
    }, cut.afterMs);
  }
  return opened.response;
}

/** The resume point: `Last-Event-ID` wins over `?since=` (browsers send it on reconnect); -1 = from the start. */
export function resumePoint(lastEventId: string | undefined, since: string | undefined): number {
  const raw = lastEventId?.trim() || since?.trim();
  if (raw === undefined || raw === '') return -1;
  // Any seq a bus can store (MAX_SEQ, 16 digits) is a valid resume point.
  if (!/^-?\d{1,16}$/.test(raw) || Number(raw) > MAX_SEQ) {
    throw new RelayError('bad_request', lastEventId ? 'Last-Event-ID must be an integer seq' : 'since must be an integer seq');
  }
  return Math.max(-1, Number(raw));
}
