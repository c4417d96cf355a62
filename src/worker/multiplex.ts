import { type EventSourceMessage, EventSourceParserStream } from 'eventsource-parser/stream';
import type { JobRef } from '../core/auth/job-ref.ts';
import { type ErrorCode, RelayError } from '../core/errors.ts';
import { decodeMuxId } from '../core/fanout/mux-id.ts';
import { type MuxJob, MuxStream, muxDataHead } from '../core/fanout/mux-stream.ts';
import { SSE_HEADERS, dataLinesText, encodeComment, encodeRetry } from '../core/fanout/sse.ts';
import { type MuxRequest, jobRefusal, muxJobs } from '../http/multiplex-response.ts';
import { createStreamSink } from '../http/stream-sink.ts';

export interface FanInOptions {
  /** The job's own multiplexed stream (of it alone) from its Durable Object: 200, 204 when the client has it all, or a JSON error. */
  open(job: JobRef, since: number): Promise<Response>;
  retryMs: number;
  maxQueuedBytes: number;
  /** Frames before an early end (an object's stream cut at MAX_STREAM_MS, or broken): the client reconnects and resumes every job. */
  tail: readonly Uint8Array[];
}

const HEARTBEAT = encodeComment();

/**
 * The multiplexed stream on the Worker: the front fans in from each job's Durable Object, which
 * serves that job alone as a multiplexed stream (framed, gap frames named, replay then live, as
 * on Node). Each of its frames goes on with the connection's composite id (MuxStream); its data is
 * passed on as it came. A job that cannot be opened refuses the whole stream, naming it; 204 when
 * the client has every job's end. One disconnect path: the client leaving cancels every object's stream.
 */
export async function fanInMultiplexed(jobs: readonly MuxRequest[], options: FanInOptions): Promise<Response> {
  const settled = await Promise.allSettled(jobs.map(({ job, since }) => options.open(job, since)));
  const responses = settled.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
  const discard = () => {
    for (const response of responses) void response?.body?.cancel().catch(() => undefined);
  };
  const failed = settled.findIndex((result) => result.status === 'rejected');
  if (failed >= 0) {
    discard();
    throw jobRefusal((jobs[failed] as MuxRequest).job, (settled[failed] as PromiseRejectedResult).reason);
  }
  const refused = responses.find((response) => response?.status !== 200 && response?.status !== 204);
  if (refused) {
    const error = await objectRefusal(refused);
    discard();
    throw error;
  }
  const live = responses.flatMap((response, index) => (response?.status === 200 && response.body ? [index] : []));
  if (live.length === 0) return new Response(null, { status: 204 });

  const readers: ReadableStreamDefaultReader<EventSourceMessage>[] = [];
  let mux: MuxStream | undefined;
  const { stream, sink } = createStreamSink({
    maxQueuedBytes: options.maxQueuedBytes,
    onClose() {
      mux?.close();
      for (const reader of readers) void reader.cancel().catch(() => undefined);
      discard();
    },
  });
  sink.write(encodeRetry(options.retryMs));
  const named = muxJobs(jobs);
  const connection = new MuxStream({ out: sink, jobs: named, live, earlyEndTail: options.tail });
  mux = connection;
  for (const index of live) {
    const body = (responses[index] as Response).body as ReadableStream<Uint8Array>;
    const reader = body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream({ onComment: () => void connection.heartbeat(index, HEARTBEAT) }))
      .getReader();
    readers.push(reader);
    void pump(connection, index, named[index] as MuxJob, reader);
  }
  return new Response(stream, { status: 200, headers: SSE_HEADERS });
}

/** Passes one job's frames on until its terminal event (the job is dropped) or its stream ends first (the connection ends). */
async function pump(mux: MuxStream, index: number, job: MuxJob, reader: ReadableStreamDefaultReader<EventSourceMessage>): Promise<void> {
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (mux.closed) return;
      if (done) return mux.jobEnded(index, false);
      if (value.event === 'gap') {
        const { from, to } = JSON.parse(value.data) as { from: number; to: number };
        mux.gap(index, from, to);
        continue;
      }
      const seq = decodeMuxId(value.id ?? '', 1).get(job.key);
      if (seq === undefined) return mux.endEarly();
      mux.event(index, seq, dataLinesText(value.data));
      if (value.data.startsWith(muxDataHead(job.name, seq, true))) return mux.jobEnded(index, true);
    }
  } catch {
    // The object's stream broke: every job resumes on the client's reconnect.
    mux.endEarly();
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}

/** A job object's refusal (already naming the job) as the error the app answers with. */
async function objectRefusal(response: Response): Promise<RelayError> {
  const body = (await response.json().catch(() => ({}))) as { error?: unknown; code?: unknown };
  const retryAfter = Number(response.headers.get('Retry-After') ?? Number.NaN);
  return new RelayError(
    typeof body.code === 'string' ? (body.code as ErrorCode) : 'internal',
    typeof body.error === 'string' ? body.error : 'internal error',
    { status: response.status, ...(Number.isFinite(retryAfter) ? { retryAfterS: retryAfter } : {}) },
  );
}
