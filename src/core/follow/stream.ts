import { RelayError, errorMessage } from '../errors.ts';
import type { JobEvent } from '../ingest/event.ts';
import type { Follow } from './follow.ts';
import { type AppendDeps, appendReliably, received as countReceived } from './append.ts';
import { namedJobId } from '../ingest/job-id.ts';
import type { ProfileIngest } from '../profile.ts';
import { readEvents } from '../ingest/upstream-stream.ts';

export interface StreamPhaseOptions extends AppendDeps {
  profile: ProfileIngest;
  redact(text: string): string;
  /** Longest the upstream stream may stay silent before it is abandoned for polling. */
  idleMs: number;
  /** Largest event the parser buffers (default: readEvents'). */
  maxEventChars?: number;
  onMalformed?(reason: string): void;
  /** The terminal event as it is to be stored (a profile that keeps the job's result with it fetches it here). */
  settle?(jobId: string, event: JobEvent): Promise<JobEvent>;
  /** Starts following the job the stream named: this instance holds its lease from now on. */
  begin(jobId: string): Follow;
  /** The job is named and its first events are stored. */
  onNamed(follow: Follow): void;
}

/** Past this many events waiting for the bus, reading waits for the append in flight. */
const MAX_READ_AHEAD = 256;

/** Tries of the append that names a job (its create is waiting for it). */
const NAMING_ATTEMPTS = 3;

/**
 * The stream phase: reads the job's upstream stream and appends what it carries, a burst
 * (what arrived while an append was in flight) as one batch. Resolves with the follow once
 * reading stopped (the stream ended, broke, went quiet, or the follow was stopped) and every
 * append settled; the caller decides what comes next. Rejects when the stream never named
 * its job, or when the bus refused an append for good (the bus's error, as it was).
 * `known`: a follow already begun (a job named by its create, or a stream reopened).
 */
export async function streamPhase(body: ReadableStream<Uint8Array>, options: StreamPhaseOptions, known?: Follow): Promise<Follow> {
  const early: JobEvent[] = [];
  let follow: Follow | undefined = known;
  // The gateway's number for the next event, for vendors whose events carry none.
  let nextSeq = (known?.lastSeq ?? -1) + 1;
  const queued: JobEvent[] = [];
  let flushing: Promise<void> | null = null;
  let failure: unknown;
  const stopRead = new AbortController();
  /** The job object of the last event this stream gave (queued or stored). */
  let lastRead: Record<string, unknown> | undefined;

  const flush = (target: Follow): Promise<void> => {
    flushing ??= (async () => {
      try {
        while (queued.length > 0 && failure === undefined) await appendReliably(options, target, queued.splice(0));
        // The terminal event is stored: the job is over, whether or not the upstream closes.
        if (target.over) stopRead.abort();
      } catch (err) {
        // The bus refused for good: reading on would only pile events up.
        failure = err;
        stopRead.abort();
      } finally {
        flushing = null;
      }
    })();
    return flushing ?? Promise.resolve();
  };

  const name = async (event: JobEvent) => {
    early.push(event);
    const jobId = namedJobId(event);
    if (jobId === undefined) return;
    const named = options.begin(jobId);
    follow = named;
    named.signal.addEventListener('abort', () => stopRead.abort(), { once: true });
    try {
      // A create is waiting on this: a bus that is down answers it (503) after a few tries, not after a minute.
      await appendReliably(options, named, early.splice(0), NAMING_ATTEMPTS);
    } catch (err) {
      failure = err;
      throw err;
    }
    options.onNamed(named);
  };

  if (known) known.signal.addEventListener('abort', () => stopRead.abort(), { once: true });
  let broke: unknown;
  options.stats.upstreamStreamsOpen++;
  try {
    await readEvents(body, {
      redact: options.redact,
      toEvent: (message, seq) => options.profile.toEvent(message, seq),
      nextSeq: () => nextSeq,
      idleMs: options.idleMs,
      clock: options.clock,
      signal: stopRead.signal,
      ...(options.maxEventChars === undefined ? {} : { maxEventChars: options.maxEventChars }),
      onMalformed: options.onMalformed,
      onEvent: async (received) => {
        // What a reopened stream repeats (fal's starts with the current status) is no new event, and takes no seq.
        // It is compared with the last event read, which may still wait behind an append in flight.
        const event = follow && options.profile.unseenPart ? options.profile.unseenPart(received, lastRead ?? follow.lastJob) : received;
        if (!event) return;
        countReceived(options.stats, event);
        if (event.job) lastRead = event.job;
        nextSeq = Math.max(nextSeq, event.seq + 1);
        if (!follow) return name(event);
        if (failure !== undefined) throw failure;
        // Only a stored terminal event ends the job; whatever follows it is not stored anyway.
        if (follow.over) return;
        queued.push(event.terminal && options.settle ? await options.settle(follow.jobId, event) : event);
        const running = flush(follow);
        if (queued.length >= MAX_READ_AHEAD) await running;
      },
    });
  } catch (err) {
    broke = err;
  } finally {
    options.stats.upstreamStreamsOpen--;
  }
  while (flushing) await flushing;
  // The bus failed while naming the job (say Redis is down): that is the error, not the stream.
  if (failure !== undefined) throw failure;
  if (!follow) {
    if (broke instanceof RelayError) throw broke;
    throw new RelayError(
      'upstream_error',
      broke ? 'upstream stream broke before naming the job' : 'upstream stream ended before naming the job',
      broke === undefined ? {} : { cause: broke },
    );
  }
  if (broke !== undefined) {
    const reason = errorMessage(broke);
    options.logger.warn({ jobId: follow.jobId, lastSeq: follow.lastSeq, err: reason }, 'upstream stream broke; polling');
  } else if (!follow.over && !follow.signal.aborted) {
    options.logger.info({ jobId: follow.jobId, lastSeq: follow.lastSeq }, 'upstream stream ended early; polling');
  }
  return follow;
}
