import { errorDetail, RelayError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { SubscriberSink } from '../core/fanout/hub.ts';
import type { FrameStyle } from '../core/profile.ts';
import type { Relay } from '../core/relay.ts';
import { SSE_HEADERS, encodeComment, encodeRetry, encodeUnnumberedEvent } from '../core/fanout/sse.ts';
import { INTERNAL_ERROR, errorAnswer } from './error-response.ts';
import type { QueuedCreate } from './queued-create.ts';
import { type SinkInit, type SinkOpener, openStreamSink } from './subscription-response.ts';

export interface QueuedStreamOptions {
  retryMs: number;
  maxQueuedBytes: number;
  maxReplay: number;
  heartbeatMs: number;
  headers: Record<string, string>;
  /** The runtime's fast sink for this request; default: the Web stream. */
  openSink?: SinkOpener;
  /** Where the job's events come from once it started. */
  subscribe: Relay['subscribe'];
  /** The `submitted` frame's contents for the started job: id, subscribe token, stream URL (not on vendor frames). */
  describe?(jobId: string): Promise<Record<string, string>>;
  /** Turns an upstream refusal into the error the caller sees (redacted). */
  refusal(outcome: { status: number; body: unknown }): Error;
  /** Vendor frames (see QueueCreateOptions.vendorFailure): the job's frame style, and its failure event's data. */
  vendor?: { style: FrameStyle; failure(err: unknown): string };
  /** The caller left: stops waiting. */
  leave(): void;
  /** Frees the caller's subscriber slot. */
  onClose(): void;
  /** Where an unexpected failure is told (redacted): the caller sees only "internal error". */
  logger: Logger;
  redact(text: string): string;
}

const frame = (event: string, data: unknown) => encodeUnnumberedEvent(event, JSON.stringify(data));

/**
 * The SSE stream of a streaming create that has to wait: `event: queued` frames with the
 * caller's position, then `event: submitted` and the job's events as on any subscription;
 * or `event: queue_error` with the error JSON when the job could not be started. With vendor
 * frames: `:` comments while waiting, then the job's events in the vendor's style, or the
 * vendor's failure event, never a clean close before the job's events.
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
  const opened = options.openSink?.(init) ?? openStreamSink(init);
  const out: SubscriberSink = opened.sink;
  const write = (bytes: Uint8Array) => {
    lastWrite = Date.now();
    if (!out.write(bytes)) out.end();
  };
  const { vendor } = options;
  const positionFrame = (position: number) => (vendor ? encodeComment(`queued, position ${position}`) : frame('queued', { position }));
  write(encodeRetry(options.retryMs));
  write(positionFrame(queued.position()));
  let shown = queued.position();
  queued.onPosition((position) => {
    if (position !== shown) write(positionFrame(position));
    else if (Date.now() - lastWrite >= options.heartbeatMs) write(encodeComment());
    shown = position;
  });

  /** Ends the stream with the failure; one the caller was not refused with (`refused`) nor a RelayError is a bug, logged. */
  const fail = (err: unknown, refused = false) => {
    if (!refused && !(err instanceof RelayError)) options.logger.error({ err: options.redact(errorDetail(err)) }, 'queued create failed');
    if (vendor) {
      const data = vendor.failure(err);
      write(encodeUnnumberedEvent(vendor.style.eventName?.(data) ?? 'error', data));
    } else {
      const answer = errorAnswer(err) ?? INTERNAL_ERROR;
      write(frame('queue_error', { ...(answer.body as object), status: answer.status }));
    }
    out.end();
  };
  queued.outcome
    .then(async (outcome) => {
      if (outcome.kind === 'reply') return fail(options.refusal(outcome.reply), true);
      if (!vendor && options.describe) write(frame('submitted', await options.describe(outcome.jobId)));
      const subscription = await options.subscribe(outcome.jobId, -1);
      if (subscription.kind === 'finished') return out.end();
      const { hub, release } = subscription;
      if (closed) return release();
      detach = () => {
        hub.detach(out);
        release();
      };
      hub.attach(out, -1, options.maxReplay, vendor?.style);
    })
    .catch((err: unknown) => fail(err));
  return opened.response;
}
