import type { Bus, JobState } from '../bus/bus.ts';
import { RelayError, errorMessage } from '../errors.ts';
import type { JobEvent } from '../ingest/event.ts';
import { Follow, type FollowPhase } from './follow.ts';
import { type AppendDeps, appendReliably } from './append.ts';
import { parseSnapshot, pause, pollPhase } from './poll.ts';
import { streamPhase } from './stream.ts';
import type { Logger } from '../logger.ts';
import type { UpstreamProfile, UpstreamRequest } from '../profile.ts';
import type { UpstreamClient } from '../ingest/upstream.ts';

export interface FollowerOptions {
  bus: Bus;
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
  /** Clock for synthesized events' `ts`. */
  now?: () => number;
  onMalformed?(reason: string): void;
  onUpstreamStream?(): void;
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
   * Follows a job its create named (profile.startedJobId): opens its stream
   * (profile.streamRequest), then resumes or polls as for any job. Returns the id at once.
   */
  followStarted(jobId: string): string;
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

export const DEFAULT_UPSTREAM_IDLE_MS = 300_000;

/** What a job ended by the relay's deadline says, in its profile's terminal event. */
const DEADLINE_REASON = 'relay gave up: job exceeded its deadline';

/** Resumed streams in a row that bring nothing new before the follower polls instead. */
const MAX_STALLED_RESUMES = 3;

export function createFollowers(options: FollowerOptions): Followers {
  const { bus, upstream, logger, profile } = options;
  const now = options.now ?? Date.now;
  const follows = new Map<string, Follow>();
  /** Jobs the bus held nothing of whose takeover waits for a live owner to show up first. */
  const waiting = new Set<string>();
  const closing = new AbortController();
  let closed = false;
  const deps: AppendDeps = { bus, logger, closed: () => closed };
  /** A vendor whose result is fetched once at the end (profile.resultRequest) stores it with the terminal event. */
  async function settle(jobId: string, event: JobEvent): Promise<JobEvent> {
    if (!profile.resultRequest || !profile.withResult) return event;
    try {
      return profile.withResult(event, await upstream.send(profile.resultRequest(jobId)));
    } catch (err) {
      logger.warn({ jobId, err: errorMessage(err) }, 'could not fetch the result; storing the terminal event without it');
      return event;
    }
  }
  /** An event the follower makes itself, as the profile stores it after `last` (its snapshot keeps what came before). */
  const latest = (event: JobEvent, last: Record<string, unknown> | undefined): JobEvent => profile.unseenPart?.(event, last) ?? event;
  const pollOptions = {
    ...deps,
    profile,
    upstream,
    owner: options.owner,
    leaseMs: options.leaseMs,
    pollIntervalMs: options.pollIntervalMs,
    now,
    settle,
  };

  function begin(jobId: string, phase: FollowPhase): Follow {
    const follow = new Follow({
      jobId,
      bus,
      logger,
      owner: options.owner,
      leaseMs: options.leaseMs,
      deadlineMs: options.jobDeadlineMs,
      phase,
      statusKey: (job) => profile.statusKey(job),
    });
    follows.set(jobId, follow);
    return follow;
  }

  const readOptions = {
    ...deps,
    profile,
    redact: options.redact,
    idleMs: options.upstreamIdleMs ?? DEFAULT_UPSTREAM_IDLE_MS,
    ...(options.maxEventChars === undefined ? {} : { maxEventChars: options.maxEventChars }),
    onMalformed: options.onMalformed,
    settle,
  };
  const unnamed = () => {
    throw new Error('a resumed stream belongs to a known job');
  };

  /**
   * The resume phase, where the vendor allows one (profile.resumeRequest): reopens the stream
   * after the last stored seq and reads on, while resuming makes progress; any answer that is not
   * a stream means "not possible" and the caller polls.
   */
  async function resume(follow: Follow): Promise<void> {
    // A vendor without resume whose stream is reopened (fal's status stream) reopens it instead.
    const request =
      profile.resumeRequest ??
      (profile.streamRequest ? (jobId: string) => (profile.streamRequest as (id: string) => UpstreamRequest)(jobId) : undefined);
    let stalled = 0;
    while (request && !follow.over && !follow.signal.aborted && !closed && stalled < MAX_STALLED_RESUMES) {
      const before = follow.lastSeq;
      const opened = await upstream.open(request(follow.jobId, follow.lastSeq)).catch(() => undefined);
      if (opened?.kind !== 'stream') return;
      options.onUpstreamStream?.();
      follow.phase = 'stream';
      logger.info({ jobId: follow.jobId, lastSeq: before }, 'resuming the upstream stream');
      await streamPhase(opened.body, { ...readOptions, begin: unnamed, onNamed: () => undefined }, follow);
      stalled = follow.lastSeq > before ? 0 : stalled + 1;
    }
  }

  /** After the stream (or from a takeover): resumes or polls until the job is over, and ends a job past its deadline. */
  async function complete(follow: Follow): Promise<void> {
    await resume(follow);
    if (!follow.over && !follow.signal.aborted && !closed) await pollPhase(follow, pollOptions);
    if (follow.stopReason === 'deadline' && !follow.over) {
      logger.warn({ jobId: follow.jobId, lastSeq: follow.lastSeq }, 'job exceeded its deadline; ending it');
      const ended = profile.terminalEvent(follow.lastSeq + 1, DEADLINE_REASON, new Date(now()), follow.known);
      await appendReliably(deps, follow, latest(ended, follow.lastJob));
    }
  }

  /** Runs a follow's remaining work; however it ends, the follow is dropped and its lease given up. */
  function finish(follow: Follow, work: Promise<void>): Promise<void> {
    return work
      .catch((err: unknown) => logger.error({ jobId: follow.jobId, err: errorMessage(err) }, 'following a job failed'))
      .finally(() => {
        follow.dispose();
        if (follows.get(follow.jobId) === follow) follows.delete(follow.jobId);
      });
  }

  /** The job's status upstream now, or 'gone' when the vendor no longer knows it; throws when it cannot tell. */
  async function pollStatus(jobId: string): Promise<Record<string, unknown> | 'gone'> {
    const reply = await upstream.send(profile.pollRequest(jobId));
    const outcome = profile.pollOutcome(reply);
    if (outcome.kind === 'status') return outcome.job;
    if (outcome.kind === 'gone') return 'gone';
    throw new RelayError('upstream_error', `upstream answered ${reply.status} for the job`);
  }

  /**
   * A job that a bus which can lose data holds nothing of may be one whose data it just lost, while
   * its owner lives on and subscribers hold its seqs: numbering it now (from 0, or from what one hub
   * knows) could give one seq two different events. Unless the job was created after the bus's data
   * began (with a lease of margin for clocks), its owner gets a lease period to take its lease again
   * (it renews every third of one) before this instance takes over, from whatever the bus holds then
   * and only if the lease is still free.
   */
  async function awaitOwner(jobId: string, knownSeq: number, dataSince: () => Promise<number>): Promise<EnsureResult> {
    const status = await pollStatus(jobId);
    if (status === 'gone') return 'unknown';
    if (knownSeq < 0) {
      const created = profile.createdAt(status);
      if (created !== undefined && created >= (await dataSince()) + options.leaseMs) return takeOver(jobId, knownSeq, null, status);
    }
    if (follows.has(jobId)) return 'following';
    if (waiting.has(jobId)) return 'awaiting-owner';
    waiting.add(jobId);
    logger.info({ jobId }, 'the bus holds nothing of the job; waiting for a live owner before taking over');
    void pause(options.leaseMs, closing.signal)
      .then(async () => {
        if (!closed) await takeOver(jobId, knownSeq, await bus.state(jobId));
      })
      .catch((err: unknown) => logger.warn({ jobId, err: errorMessage(err) }, 'taking over the job failed'))
      .finally(() => waiting.delete(jobId));
    return 'awaiting-owner';
  }

  /**
   * Takes the lease of a job nobody follows and follows it by polling, numbering on above `state` and
   * `knownSeq`; `polled`: the job's status just read upstream, when the bus holds nothing of it.
   */
  async function takeOver(
    jobId: string,
    knownSeq: number,
    state: JobState | null,
    polled?: Record<string, unknown>,
  ): Promise<EnsureResult> {
    if (state?.terminalSeq !== null && state?.terminalSeq !== undefined) return 'over';
    if (!(await bus.acquireLease(jobId, options.owner, options.leaseMs))) return 'followed-elsewhere';
    if (follows.has(jobId)) return 'following';
    const follow = begin(jobId, 'poll');
    // `knownSeq`: what a local hub already holds. Above what the bus has, the bus lost events
    // (Redis restarted empty): numbering goes on above it, and the lost ones show as a gap.
    if (state || knownSeq >= 0) follow.lastSeq = Math.max(state?.lastSeq ?? -1, knownSeq);
    if (state) {
      const job = parseSnapshot(profile, state.snapshot);
      if (job) {
        follow.knowJob(job);
        follow.startedAt(profile.createdAt(job), options.jobDeadlineMs);
      }
      logger.info({ jobId, lastSeq: state.lastSeq }, 'taking over an unfollowed job; polling');
      void finish(follow, complete(follow));
      return 'following';
    }
    let job: Record<string, unknown> | 'gone';
    try {
      job = polled ?? (await pollStatus(jobId));
    } catch (err) {
      void finish(follow, Promise.resolve());
      throw err;
    }
    if (job === 'gone') {
      void finish(follow, Promise.resolve());
      return 'unknown';
    }
    const status = job;
    follow.startedAt(profile.createdAt(status), options.jobDeadlineMs);
    logger.info({ jobId }, 'following a job created elsewhere; polling');
    void finish(
      follow,
      (async () => {
        await appendReliably(deps, follow, latest(profile.statusEvent(follow.lastSeq + 1, status, new Date(now())), undefined));
        await complete(follow);
      })(),
    );
    return 'following';
  }

  return {
    followStream(body) {
      options.onUpstreamStream?.();
      return new Promise<string>((resolve, reject) => {
        let named: Follow | undefined;
        const run = (async () => {
          const follow = await streamPhase(body, {
            ...readOptions,
            begin: (jobId) => {
              named = begin(jobId, 'stream');
              // The stream's holder follows the job, whoever held its lease.
              bus.claimLease(jobId, options.owner, options.leaseMs).catch(() => undefined);
              return named;
            },
            onNamed: (follow) => resolve(follow.jobId),
          });
          await complete(follow);
        })();
        // Before the job is named the create fails with the error; after, it is logged and the follow dropped.
        run.catch(reject);
        void run
          .catch(() => undefined)
          .finally(() => {
            if (named) void finish(named, run);
          });
      });
    },

    followStarted(jobId) {
      const existing = follows.get(jobId);
      if (existing) return jobId;
      const follow = begin(jobId, 'stream');
      bus.claimLease(jobId, options.owner, options.leaseMs).catch(() => undefined);
      void finish(follow, complete(follow));
      return jobId;
    },

    async ensure(jobId, knownSeq = -1) {
      if (follows.has(jobId)) return 'following';
      if (waiting.has(jobId)) return 'awaiting-owner';
      const state = await bus.state(jobId);
      if (state === null && bus.dataSince) return awaitOwner(jobId, knownSeq, bus.dataSince);
      return takeOver(jobId, knownSeq, state);
    },

    async endPastDeadline(jobId) {
      const follow = follows.get(jobId);
      if (follow) {
        follow.stop('closed');
        follow.dispose();
        follows.delete(jobId);
      }
      const state = await bus.state(jobId);
      if (!state || state.terminalSeq !== null) return;
      logger.warn({ jobId, lastSeq: state.lastSeq }, 'job exceeded its deadline; ending it');
      const last = parseSnapshot(profile, state.snapshot);
      const ended = profile.terminalEvent(state.lastSeq + 1, DEADLINE_REASON, new Date(now()), last ? { jobId, last } : { jobId });
      const event = latest(ended, last);
      const snapshot = event.job ? { snapshot: event.snapshot ?? event.data } : {};
      await bus.append(jobId, { seq: event.seq, data: event.data, terminal: true, prev: state.lastSeq, ...snapshot });
    },

    active() {
      return [...follows.keys()];
    },

    async close() {
      closed = true;
      closing.abort();
      for (const follow of [...follows.values()]) {
        follow.stop('closed');
        follow.dispose();
        follows.delete(follow.jobId);
      }
    },
  };
}
