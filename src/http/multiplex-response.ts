import type { JobRef } from '../core/auth/job-ref.ts';
import { RelayError } from '../core/errors.ts';
import type { SubscriberSink } from '../core/fanout/hub.ts';
import { muxKey } from '../core/fanout/mux-id.ts';
import { type MuxJob, MuxStream } from '../core/fanout/mux-stream.ts';
import { SSE_HEADERS, encodeRetry } from '../core/fanout/sse.ts';
import type { SubscribeOutcome } from '../core/relay.ts';
import { type SinkInit, type SubscriptionResponseOptions, openStreamSink } from './subscription-response.ts';

/** One job of a multiplexed stream as the app asks for it: the job and the last seq its client has (-1: none). */
export interface MuxRequest {
  job: JobRef;
  since: number;
}

/** `<profile>/<id>`: how frames name a job. */
export const muxJobName = (job: JobRef) => `${job.profile}/${job.jobId}`;

/** The stream's jobs, named and keyed as its frames and id carry them. */
export const muxJobs = (jobs: readonly MuxRequest[]): MuxJob[] =>
  jobs.map(({ job, since }) => {
    const name = muxJobName(job);
    return { name, key: muxKey(name), since };
  });

/** A job's refusal, saying which job it is about (the rest of the stream is refused with it). */
export function jobRefusal(job: JobRef, err: unknown): unknown {
  if (!(err instanceof RelayError)) return err;
  const options = { status: err.status, cause: err, ...(err.retryAfterS === undefined ? {} : { retryAfterS: err.retryAfterS }) };
  return new RelayError(err.code, `${muxJobName(job)}: ${err.message}`, options);
}

export type MultiplexResponseOptions = Pick<
  SubscriptionResponseOptions,
  'retryMs' | 'maxQueuedBytes' | 'headers' | 'maxReplay' | 'onClose' | 'openSink'
> & {
  /** Ends the stream after `afterMs` with `tail` (a runtime's stream-length limit); the client resumes every job. */
  cut?: { afterMs: number; tail: readonly Uint8Array[] };
};

/**
 * The multiplexed stream of jobs served from this process's hubs: each job subscribed through
 * its relay (`subscribe`) and attached to its hub as a single-job subscriber is, with a sink of
 * the one connection (MuxStream). A job that cannot be opened refuses the whole stream, naming
 * it; a 204 when the client has every job's terminal event. One disconnect path: every job's
 * sink leaves its hub, every hub is released, then `onClose`.
 */
export async function multiplexedResponse(
  jobs: readonly MuxRequest[],
  subscribe: (job: JobRef, since: number) => Promise<SubscribeOutcome>,
  options: MultiplexResponseOptions,
): Promise<Response> {
  const settled = await Promise.allSettled(jobs.map(({ job, since }) => subscribe(job, since)));
  const outcomes = settled.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
  const releaseAll = () => {
    for (const outcome of outcomes) if (outcome?.kind === 'open') outcome.release();
  };
  const failed = settled.findIndex((result) => result.status === 'rejected');
  if (failed >= 0) {
    releaseAll();
    options.onClose?.();
    throw jobRefusal((jobs[failed] as MuxRequest).job, (settled[failed] as PromiseRejectedResult).reason);
  }
  const live = outcomes.flatMap((outcome, index) => (outcome?.kind === 'open' ? [index] : []));
  if (live.length === 0) {
    options.onClose?.();
    return new Response(null, { status: 204, headers: options.headers });
  }

  let stream: MuxStream | undefined;
  let cutTimer: ReturnType<typeof setTimeout> | undefined;
  const sinks: (SubscriberSink | undefined)[] = [];
  const init: SinkInit = {
    headers: Object.assign({}, SSE_HEADERS, options.headers),
    maxQueuedBytes: options.maxQueuedBytes,
    onClose() {
      stream?.close();
      clearTimeout(cutTimer);
      outcomes.forEach((outcome, index) => {
        const sink = sinks[index];
        if (outcome?.kind === 'open' && sink) outcome.hub.detach(sink);
      });
      releaseAll();
      options.onClose?.();
    },
  };
  const opened = options.openSink?.(init) ?? openStreamSink(init);
  opened.sink.write(encodeRetry(options.retryMs));
  const mux = new MuxStream({
    out: opened.sink,
    jobs: muxJobs(jobs),
    live,
    ...(options.cut ? { earlyEndTail: options.cut.tail } : {}),
    // A job over is done with its hub while the others go on.
    onJobOver: (index) => (outcomes[index] as Extract<SubscribeOutcome, { kind: 'open' }>).release(),
  });
  stream = mux;
  for (const index of live) {
    if (mux.closed) break;
    const { hub } = outcomes[index] as Extract<SubscribeOutcome, { kind: 'open' }>;
    const sink = mux.jobSink(index);
    sinks[index] = sink;
    hub.attach(sink, (jobs[index] as MuxRequest).since, options.maxReplay);
  }
  const cut = options.cut;
  if (cut && !mux.closed) cutTimer = setTimeout(() => mux.endEarly(), cut.afterMs);
  return opened.response;
}
