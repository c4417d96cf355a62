import { RelayError } from '../core/errors.ts';
import type { SubscribeOutcome } from '../core/relay.ts';
import { SSE_HEADERS, encodeRetry } from '../core/sse.ts';
import { createStreamSink } from './stream-sink.ts';

export interface SubscriptionResponseOptions {
  retryMs: number;
  maxQueuedBytes: number;
  headers?: Record<string, string>;
  /** Most events replayed to one subscriber; older ones are announced by a `gap` frame. */
  maxReplay?: number;
  /** Runs once when the subscriber is gone, however it went (or at once for a 204). */
  onClose?: () => void;
}

/** Turns an opened subscription into the SSE Response: retry, replay after `since`, then live. */
export function subscriptionResponse(outcome: SubscribeOutcome, since: number, options: SubscriptionResponseOptions): Response {
  if (outcome.kind === 'finished') {
    options.onClose?.();
    return new Response(null, { status: 204, headers: options.headers });
  }
  const { hub, release } = outcome;
  const { stream, sink } = createStreamSink({
    maxQueuedBytes: options.maxQueuedBytes,
    onClose() {
      hub.detach(sink);
      release();
      options.onClose?.();
    },
  });
  sink.write(encodeRetry(options.retryMs));
  hub.attach(sink, since, options.maxReplay);
  return new Response(stream, { status: 200, headers: { ...SSE_HEADERS, ...options.headers } });
}

/** The resume point: `Last-Event-ID` wins over `?since=` (browsers send it on reconnect); -1 = from the start. */
export function resumePoint(lastEventId: string | undefined, since: string | undefined): number {
  const raw = lastEventId?.trim() || since?.trim();
  if (raw === undefined || raw === '') return -1;
  if (!/^-?\d{1,15}$/.test(raw)) {
    throw new RelayError('bad_request', lastEventId ? 'Last-Event-ID must be an integer seq' : 'since must be an integer seq');
  }
  return Math.max(-1, Number(raw));
}
