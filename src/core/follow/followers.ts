import type { Clock } from '../clock.ts';
import type { UpstreamClient } from '../ingest/upstream.ts';
import type { Logger } from '../logger.ts';
import type { UpstreamProfile, UpstreamReply } from '../profile.ts';
import type { ReceiptBook } from '../fanout/receipts.ts';
import type { FollowStats } from '../stats.ts';
import { createFollowContext, type FollowBus } from './context.ts';
import { endPastDeadline } from './deadline.ts';
import { followStarted, followStream } from './start.ts';
import { createTakeover } from './takeover.ts';

export { DEFAULT_UPSTREAM_IDLE_MS, type FollowBus } from './context.ts';

export interface FollowerOptions {
  bus: FollowBus;
  profile: UpstreamProfile;
  upstream: UpstreamClient;
  /** Cuts every secret out of upstream events before they are parsed. */
  redact(text: string): string;
  logger: Logger;
  /** This instance's lease owner id. */
  owner: string;
  leaseMs: number;
  pollIntervalMs: number;
  /** A job still not over after this long (whatever the phase) is ended with a synthesized `error` event. */
  jobDeadlineMs: number;
  /** An upstream stream silent for this long is abandoned for polling (default 5 min). */
  upstreamIdleMs?: number;
  /** Largest upstream event buffered (default: readEvents'). */
  maxEventChars?: number;
  /** Times leases, deadlines, polls and retries (default: the system clock). */
  clock?: Clock;
  /** Clock for synthesized events' `ts` (default: `clock`'s). */
  now?: () => number;
  onMalformed?(reason: string): void;
  /** Where follows count what they read upstream (default: counters of their own). */
  stats?: FollowStats;
  /** Receipts of the jobs with a hub here: each event read is marked in its job's (the delivery lag). */
  receipts?: ReceiptBook;
}

/**
 * `awaiting-owner`: the bus holds nothing of a job that may be one whose data it lost; its owner
 * gets a lease period to show up before this instance takes over (its first event comes by then).
 */
export type EnsureResult = 'following' | 'awaiting-owner' | 'followed-elsewhere' | 'over' | 'unknown';

/** Follows jobs upstream (stream first, polling after) and appends what it sees to the bus. */
export interface Followers {
  /**
   * Takes over a job's upstream stream as its creator; resolves with the job id once the
   * first events are on the bus, and keeps reading (then polling) until the job is over.
   */
  followStream(body: ReadableStream<Uint8Array>): Promise<string>;
  /**
   * Follows a job its create named (profile.startedJobId): stores the create's `reply` where the
   * profile keeps it (profile.startedEvent), opens its stream (profile.streamRequest), then resumes
   * or polls as for any job. Returns the id at once.
   */
  followStarted(jobId: string, reply?: UpstreamReply): string;
  /**
   * Makes sure some instance follows the job, taking the lease and polling if none does.
   * `knownSeq` is the newest seq a local hub holds (it may be ahead of a bus that lost its data).
   */
  ensure(jobId: string, knownSeq?: number): Promise<EnsureResult>;
  /**
   * Gives up on a job past its deadline, wherever it is followed from (a runtime's own timer,
   * such as a Durable Object alarm after the object slept): stops its follow here and stores the
   * profile's terminal event after the last stored seq, unless the job is already over.
   */
  endPastDeadline(jobId: string): Promise<void>;
  /** Job ids this instance follows now. */
  active(): string[];
  close(): Promise<void>;
}

/**
 * The followers of one profile on one instance. A job's follow goes through phases, each in its
 * own file: start (its create's stream, or one its create named), stream, resume, poll, and the
 * deadline's end (complete); takeover follows jobs nobody follows, ownership keeps one follower per job.
 */
export function createFollowers(options: FollowerOptions): Followers {
  const context = createFollowContext(options);
  const takeover = createTakeover(context);
  return {
    followStream: (body) => followStream(context, body),
    followStarted: (jobId, reply) => followStarted(context, jobId, reply),
    ensure: (jobId, knownSeq) => takeover.ensure(jobId, knownSeq),
    endPastDeadline: (jobId) => endPastDeadline(context, jobId),
    active: () => [...context.follows.keys()],
    close: async () => context.close(),
  };
}
