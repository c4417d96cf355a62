import { errorMessage } from '../errors.ts';
import type { BusHealth, EventLog, Leases } from '../bus/bus.ts';
import { type Clock, systemClock } from '../clock.ts';
import type { JobEvent } from '../ingest/event.ts';
import { createStats } from '../stats.ts';
import type { AppendDeps } from './append.ts';
import { Follow, type FollowPhase } from './follow.ts';
import type { FollowerOptions } from './followers.ts';
import type { PollPhaseOptions } from './poll.ts';
import { settleWithResult } from './settle.ts';
import type { StreamPhaseOptions } from './stream.ts';

/** What following takes of the bus: the event log and the leases (and, on a bus that can lose its data, since when it holds it). */
export type FollowBus = EventLog & Leases & Pick<BusHealth, 'dataSince'>;

/** An upstream stream silent for this long is abandoned for polling, unless the options say otherwise. */
export const DEFAULT_UPSTREAM_IDLE_MS = 300_000;

/** What every phase of the followers shares: their options and clock, the follows running here, and whether they are closing. */
export interface FollowContext {
  readonly options: FollowerOptions;
  readonly clock: Clock;
  /** The follows this instance runs, by job id. */
  readonly follows: Map<string, Follow>;
  /** Aborts when the followers close. */
  readonly closing: AbortSignal;
  /** What appending needs; retries stop once the followers close. */
  readonly deps: AppendDeps;
  readonly pollOptions: PollPhaseOptions;
  /** The stream phase's options but for the naming callbacks, which depend on how the stream was opened. */
  readonly readOptions: Omit<StreamPhaseOptions, 'begin' | 'onNamed'>;
  /** Ms since the epoch, for synthesized events' `ts`. */
  now(): number;
  /** A synthesized event as the profile stores it after `last` (its snapshot keeps what came before). */
  latest(event: JobEvent, last: Record<string, unknown> | undefined): JobEvent;
  /** Starts following a job here: its lease is renewed and its deadline runs from now on. */
  begin(jobId: string, phase: FollowPhase): Follow;
  /** Runs a follow's remaining work; however it ends, the follow is dropped and its lease given up. */
  finish(follow: Follow, work: Promise<void>): Promise<void>;
  /** Stops and drops one follow now. */
  drop(follow: Follow): void;
  /** Stops every follow and every wait. */
  close(): void;
}

export function createFollowContext(options: FollowerOptions): FollowContext {
  const { bus, logger, profile } = options;
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => clock.now());
  const follows = new Map<string, Follow>();
  const closing = new AbortController();
  const closed = () => closing.signal.aborted;
  const deps: AppendDeps = {
    bus,
    logger,
    clock,
    closed,
    stats: options.stats ?? createStats(),
    ...(options.receipts ? { receipts: options.receipts } : {}),
  };
  const settle = settleWithResult(options);

  function release(follow: Follow): void {
    follow.dispose();
    if (follows.get(follow.jobId) === follow) follows.delete(follow.jobId);
  }

  function drop(follow: Follow): void {
    follow.stop('closed');
    release(follow);
  }

  return {
    options,
    clock,
    follows,
    closing: closing.signal,
    deps,
    pollOptions: {
      ...deps,
      bus,
      profile,
      upstream: options.upstream,
      owner: options.owner,
      leaseMs: options.leaseMs,
      pollIntervalMs: options.pollIntervalMs,
      now,
      settle,
    },
    readOptions: {
      ...deps,
      profile,
      redact: options.redact,
      idleMs: options.upstreamIdleMs ?? DEFAULT_UPSTREAM_IDLE_MS,
      ...(options.maxEventChars === undefined ? {} : { maxEventChars: options.maxEventChars }),
      onMalformed: options.onMalformed,
      settle,
    },
    now,
    latest: (event, last) => profile.unseenPart?.(event, last) ?? event,

    begin(jobId, phase) {
      const follow = new Follow({
        jobId,
        bus,
        logger,
        clock,
        owner: options.owner,
        leaseMs: options.leaseMs,
        deadlineMs: options.jobDeadlineMs,
        phase,
        statusKey: (job) => profile.statusKey(job),
      });
      follows.set(jobId, follow);
      return follow;
    },

    finish(follow, work) {
      return work
        .catch((err: unknown) => logger.error({ jobId: follow.jobId, err: errorMessage(err) }, 'following a job failed'))
        .finally(() => release(follow));
    },

    drop,

    close() {
      closing.abort();
      for (const follow of [...follows.values()]) drop(follow);
    },
  };
}
