import { errorBody, RelayError } from '../core/errors.ts';
import type { SubscriberSink } from '../core/hub.ts';
import type { Relay } from '../core/relay.ts';
import { SSE_HEADERS, encodeComment, encodeRetry, encodeUnnumberedEvent } from '../core/sse.ts';
import type { QueuedCreate } from './queued-create.ts';
import { type SinkInit, type SinkOpener, openStreamSink } from './subscription-response.ts';

export interface QueuedStreamOptions {
  retryMs: number;
  maxQueuedBytes: number;
  maxReplay: number;
  heartbeatMs: number;
  headers: Record<string, string>;
  openSink?: SinkOpener;
  env?: unknown;
  /** Where the job's events come from once it started. */
  subscribe: Relay['subscribe'];
  /** The `submitted` frame's contents for the started job: id, subscribe token, stream URL. */
  describe(jobId: string): Promise<Record<string, string>>;
  /** Turns an upstream refusal into the message the caller sees (redacted). */
  refusal(outcome: { status: number; body: unknown }): RelayError;
  /** The caller left: stops waiting. */
  leave(): void;
  /** Frees the caller's subscriber slot. */
  onClose(): void;
}

const frame = (event: string, data: unknown) => encodeUnnumberedEvent(event, JSON.stringify(data));

/**
 * The SSE stream of a streaming create that has to wait: `event: queued` frames with the
 * caller's position, then `event: submitted` and the job's events as on any subscription;
 * or `event: queue_error` with the error JSON when the job could not be started.
 */
export function queuedStream(queued: QueuedCreate, options: QueuedStreamOptions): Response {
  let closed = false;
  let detach: (() => void) | undefined;
  let lastWrite = Date.now();
  const init: SinkInit = {
    headers: { ...SSE_HEADERS, ...options.headers },
    maxQueuedBytes: options.maxQueuedBytes,
    onClose() {
      closed = true;
      options.leave();
      detach?.();
      options.onClose();
    },
  };
  const opened = options.openSink?.(init, options.env) ?? openStreamSink(init);
  const out: SubscriberSink = opened.sink;
  const write = (bytes: Uint8Array) => {
    lastWrite = Date.now();
    if (!out.write(bytes)) out.end();
  };
  write(encodeRetry(options.retryMs));
  write(frame('queued', { position: queued.position() }));
  let shown = queued.position();
  queued.onPosition((position) => {
    if (position !== shown) write(frame('queued', { position }));
    else if (Date.now() - lastWrite >= options.heartbeatMs) write(encodeComment());
    shown = position;
  });

  const fail = (err: unknown) => {
    const error = err instanceof RelayError ? err : new RelayError('internal', 'internal error');
    write(frame('queue_error', { ...errorBody(error), status: error.status }));
    out.end();
  };
  queued.outcome
    .then(async (outcome) => {
      if (outcome.kind === 'reply') return fail(options.refusal(outcome.reply));
      write(frame('submitted', await options.describe(outcome.jobId)));
      const subscription = await options.subscribe(outcome.jobId, -1);
      if (subscription.kind === 'finished') return out.end();
      const { hub, release } = subscription;
      if (closed) return release();
      detach = () => {
        hub.detach(out);
        release();
      };
      hub.attach(out, -1, options.maxReplay);
    })
    .catch(fail);
  return opened.response;
}
