/**
 * The relay: one profile's jobs on one instance. Start reading here.
 *
 * The event path, hop by hop (docs/architecture.md has the long version):
 * 0. start: `create` sends the profile's create and reads its answer once (ingest/open-create.ts);
 *    the follower then owns the job (follow/start.ts; `adopt` and `follow` on the Worker);
 * 1. upstream bytes: the follower's stream phase reads the vendor's stream (follow/followers.ts
 *    composes the phases: follow/stream.ts; after a drop follow/complete.ts, which resumes with
 *    follow/resume.ts, then polls with follow/poll.ts);
 * 2. parser: eventsource-parser over the decoded body, every secret redacted
 *    (ingest/upstream-stream.ts, redact.ts);
 * 3. the profile's mapping: `toEvent` turns a vendor message into a JobEvent with its seq
 *    (the port in profile.ts, each vendor in src/profiles/<vendor>/profile.ts);
 * 4. append: atomic and idempotent by seq on the event log (follow/append.ts, the EventLog
 *    port in bus/bus.ts, scoped to this profile by bus/profile-bus.ts);
 * 5. pub/sub: the same append publishes on the live feed (bus/memory-bus.ts here; Redis, IPC
 *    and Durable Object buses at the runtimes' edges);
 * 6. hub: one per job per instance, replay then live, each frame encoded once
 *    (fanout/hubs.ts, fanout/hub.ts, fanout/sse.ts);
 * 7. subscriber socket: the HTTP layer opens it through the runtime's subscriptions port
 *    (src/http/subscriptions.ts; Node writes to the socket, the Worker's Durable Object to a Web stream).
 */
import type { Config } from './config.ts';
import type { Bus, EventLog } from './bus/bus.ts';
import { type Clock, systemClock } from './clock.ts';
import { RelayError, errorMessage } from './errors.ts';
import { createFollowers, type EnsureResult } from './follow/followers.ts';
import { parseSnapshot } from './follow/poll.ts';
import type { JobHub } from './fanout/hub.ts';
import { createHubRegistry } from './fanout/hubs.ts';
import { createReceiptBook } from './fanout/receipts.ts';
import type { Logger } from './logger.ts';
import { openCreate } from './ingest/open-create.ts';
import { PROFILE_NAME, type UpstreamProfile } from './profile.ts';
import { profileBus } from './bus/profile-bus.ts';
import { createStats, type RelayStats } from './stats.ts';
import type { UpstreamClient, UpstreamReply } from './ingest/upstream.ts';

/** The relay's limits and timers from the configuration: one recipe for every runtime. */
export function relayTimings(config: Config) {
  return {
    historyMaxEvents: config.HISTORY_MAX_EVENTS,
    heartbeatMs: config.HEARTBEAT_MS,
    leaseMs: config.LEASE_MS,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    jobDeadlineMs: config.JOB_DEADLINE_MS,
    upstreamIdleMs: config.UPSTREAM_IDLE_MS,
  };
}

export interface RelayOptions {
  /** The shared bus; this relay's jobs live on it as `<profile>:<jobid>`. */
  bus: Bus;
  /** The vendor this relay serves. */
  profile: UpstreamProfile;
  upstream: UpstreamClient;
  /** Cuts every configured secret out of upstream events before they are parsed. */
  redact(text: string): string;
  logger: Logger;
  /** This instance's id, used as lease owner. */
  instanceId: string;
  historyMaxEvents: number;
  heartbeatMs: number;
  leaseMs: number;
  pollIntervalMs: number;
  jobDeadlineMs: number;
  /** An upstream stream silent this long is abandoned for polling. */
  upstreamIdleMs?: number;
  /** How long an unused hub stays cached. */
  hubLingerMs?: number;
  /**
   * How long a subscription to a job nobody has seen yet waits for its first event (a lease more
   * when the bus may have lost the job's data and its owner is given a lease to show up).
   */
  unknownJobWaitMs?: number;
  /** Largest upstream event buffered; a bigger one is counted malformed (default 4 Mi characters). */
  maxEventChars?: number;
  stats?: RelayStats;
  /** Times the follows, the watchdog and subscribers' waits (default: the system clock). */
  clock?: Clock;
}

/** A job started (with the vendor's own answer when its create answers JSON naming the job), or the vendor's refusal. */
export type CreateOutcome = { kind: 'job'; jobId: string; reply?: UpstreamReply } | { kind: 'reply'; reply: UpstreamReply };

export type SubscribeOutcome = { kind: 'finished' } | { kind: 'open'; hub: JobHub; release: () => void };

/** What a relay holds right now on this instance (metrics, the Worker's idle check, tests). */
export interface RelayCounts {
  /** Subscribers attached to its jobs' hubs. */
  subscribers: number;
  /** Callers waiting for a job's end or next event (a blocking create, a subscription waiting for a first event). */
  waiters: number;
  /** Jobs whose upstream this instance follows now. */
  followed: readonly string[];
}

/** The relay of one profile on one instance: creates and follows its jobs, serves their events to subscribers. */
export interface Relay {
  readonly profile: UpstreamProfile;
  readonly stats: RelayStats;
  readonly upstream: UpstreamClient;
  /** Starts a job of `kind` upstream (the profile's create) and follows it to its end, whoever listens. */
  create(kind: string, body: Record<string, unknown>): Promise<CreateOutcome>;
  /** Follows the upstream stream of a job created elsewhere (the Worker's starter pumps it here); resolves with its id once its first events are stored. */
  adopt(body: ReadableStream<Uint8Array>): Promise<string>;
  /** Follows a job whose create answered JSON naming it (`reply`: that answer): its stream opened here, resumed or polled as any job's. */
  follow(jobId: string, reply?: UpstreamReply): void;
  /** Makes sure someone follows the job (taking it over when its owner is gone); `knownSeq` is the last event seen here. */
  check(jobId: string, knownSeq?: number): Promise<EnsureResult>;
  /** Ends a job past its deadline with the gateway's terminal event (the Worker's alarm; Node's follower does it itself). */
  endPastDeadline(jobId: string): Promise<void>;
  /** What this relay holds now on this instance. */
  counts(): RelayCounts;
  /** Opens a job's events for a subscriber that has seen up to `since`. */
  subscribe(jobId: string, since: number): Promise<SubscribeOutcome>;
  /** The job object of the latest event that carried one, if the bus has it. */
  snapshot(jobId: string): Promise<Record<string, unknown> | null>;
  /** The data of the job's retained events, oldest first; null when the bus holds nothing for it (the media proxy's source). */
  history(jobId: string): Promise<string[] | null>;
  /**
   * Waits for the first job object of a job just created (status `created`, as the vendor
   * answers `stream:false`), however far the job got meanwhile: one read of the history, then
   * the job's hub. Past `timeoutMs` (or with the first events trimmed away), the latest one.
   */
  waitForSnapshot(jobId: string, timeoutMs: number): Promise<Record<string, unknown> | null>;
  /**
   * Waits for a job's terminal event and answers the job object then (the vendor's final
   * object, as a blocking create answers it): at most `timeoutMs` (default, and never more
   * than, the job deadline plus two leases: by then the follower has ended the job), or until
   * `signal` aborts or the relay closes; then the latest job object, whatever its status.
   */
  waitForEnd(jobId: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<Record<string, unknown> | null>;
  /**
   * Shutdown, first step: refuses new subscriptions (503) and ends the open streams spread
   * over `windowMs`, still following jobs meanwhile; logs start and end.
   */
  drain(windowMs: number): Promise<void>;
  close(): Promise<void>;
}

export function createRelay(options: RelayOptions): Relay {
  const { upstream, logger, profile } = options;
  if (!PROFILE_NAME.test(profile.name)) throw new TypeError(`profile name must match ${PROFILE_NAME}: ${JSON.stringify(profile.name)}`);
  const stats = options.stats ?? createStats();
  // Every job of this profile, and only those, under `<profile>:` on the shared bus; stored events counted.
  const bus = profileBus(options.bus, `${profile.name}:`, {
    onStored: (count) => void (stats.eventsAppended += count),
    onError: (op) => void stats.busErrors[op]++,
  });
  // When this instance received its jobs' recent events: the follower marks, the job's hub reads (delivery lag).
  const receipts = createReceiptBook();
  /** What the snapshot and wait paths read. */
  const log: EventLog = bus;
  const clock = options.clock ?? systemClock;
  let draining = false;
  /** Aborts on drain and close: subscriptions still waiting for a job's first event give up. */
  const stopping = new AbortController();
  const unknownJobWaitMs = options.unknownJobWaitMs ?? Math.max(2000, options.pollIntervalMs * 2);
  const hubs = createHubRegistry({
    bus,
    historyMaxEvents: options.historyMaxEvents,
    heartbeatMs: options.heartbeatMs,
    lingerMs: options.hubLingerMs ?? 30_000,
    ...(profile.dropInFrames ? { styles: [profile.dropInFrames] } : {}),
    stats,
    receipts,
  });
  const followers = createFollowers({
    bus,
    profile,
    upstream,
    redact: options.redact,
    ...(options.maxEventChars === undefined ? {} : { maxEventChars: options.maxEventChars }),
    logger,
    owner: options.instanceId,
    leaseMs: options.leaseMs,
    pollIntervalMs: options.pollIntervalMs,
    jobDeadlineMs: options.jobDeadlineMs,
    ...(options.upstreamIdleMs === undefined ? {} : { upstreamIdleMs: options.upstreamIdleMs }),
    onMalformed: (reason) => {
      stats.eventsMalformed++;
      logger.debug({ reason }, 'skipped a malformed upstream event');
    },
    stats,
    receipts,
    clock,
  });

  // Jobs with local subscribers must be followed by someone: take over when an owner is gone.
  const watchdog = clock.setInterval(() => {
    for (const hub of hubs.busy()) {
      if (hub.terminalSeq !== null) continue;
      followers.ensure(hub.jobId, hub.lastSeq).catch((err: unknown) => {
        logger.warn({ jobId: hub.jobId, err: errorMessage(err) }, 'follow check failed');
      });
    }
  }, options.leaseMs);

  async function snapshot(jobId: string): Promise<Record<string, unknown> | null> {
    const state = await log.state(jobId);
    return parseSnapshot(profile, state?.snapshot ?? null) ?? null;
  }

  return {
    profile,
    stats,
    upstream,

    async create(kind, body) {
      const opened = await openCreate(upstream, profile, kind, body);
      if (opened.kind === 'reply') return opened;
      const jobId =
        opened.kind === 'started' ? followers.followStarted(opened.jobId, opened.reply) : await followers.followStream(opened.body);
      stats.jobsCreated++;
      logger.info({ jobId, profile: profile.name, kind }, 'job created');
      // A create answering JSON naming the job: the vendor's answer goes to the caller.
      return opened.kind === 'started' ? { kind: 'job', jobId, reply: opened.reply } : { kind: 'job', jobId };
    },

    adopt: (body) => followers.followStream(body),

    follow(jobId, reply) {
      followers.followStarted(jobId, reply);
    },

    check: (jobId, knownSeq) => followers.ensure(jobId, knownSeq),

    endPastDeadline: (jobId) => followers.endPastDeadline(jobId),

    counts: () => ({ subscribers: hubs.subscriberCount(), waiters: hubs.waiterCount(), followed: followers.active() }),

    async subscribe(jobId, since) {
      if (draining) throw new RelayError('unavailable', 'this instance is shutting down', { retryAfterS: 1 });
      const { hub, release } = hubs.acquire(jobId);
      try {
        await hub.ready();
        if (hub.lastSeq < 0) {
          const outcome = await followers.ensure(jobId);
          if (outcome === 'unknown') throw new RelayError('not_found', 'Job not found');
          if (outcome !== 'following') {
            // Its first event comes from elsewhere: from its owner, or (bus data lost) from a takeover a lease on.
            const waitMs = outcome === 'awaiting-owner' ? options.leaseMs + unknownJobWaitMs : unknownJobWaitMs;
            if (hub.lastSeq < 0 && !stopping.signal.aborted) await untilHub(clock, hub, waitMs, stopping.signal, { onEvent: true });
            if (stopping.signal.aborted) throw new RelayError('unavailable', 'this instance is shutting down', { retryAfterS: 1 });
            if (hub.lastSeq < 0) throw new RelayError('not_found', 'Job not found');
          }
        } else if (hub.terminalSeq === null) {
          followers.ensure(jobId, hub.lastSeq).catch(() => undefined);
        }
        return openedOrFinished(hub, since, release);
      } catch (err) {
        release();
        throw err;
      }
    },

    snapshot,

    async history(jobId) {
      if ((await log.state(jobId)) === null) return null;
      return (await log.history(jobId, -1)).map((event) => event.data);
    },

    async waitForSnapshot(jobId, timeoutMs) {
      const { hub, release } = hubs.acquire(jobId);
      // Watching from before the history read: no event falls between the two.
      const live = watchForJob(clock, hub, (data) => parseSnapshot(profile, data));
      try {
        await hub.ready();
        for (const stored of await log.history(jobId, -1)) {
          const job = parseSnapshot(profile, stored.data);
          if (job) return job;
        }
        // None yet: the first to reach the hub, unless the job is over. Past the deadline (or with
        // the first events trimmed away): the latest job object, if any.
        const job = hub.terminalSeq === null ? await live.wait(timeoutMs) : live.found();
        return job ?? (await snapshot(jobId));
      } finally {
        live.stop();
        release();
      }
    },

    async waitForEnd(jobId, { timeoutMs, signal } = {}) {
      const bound = options.jobDeadlineMs + 2 * options.leaseMs;
      const { hub, release } = hubs.acquire(jobId);
      try {
        await hub.ready();
        if (hub.terminalSeq === null && !signal?.aborted) {
          // Someone must follow it while we wait; the watchdog checks again while we do.
          followers.ensure(jobId, hub.lastSeq).catch(() => undefined);
          await untilHub(clock, hub, Math.min(timeoutMs ?? bound, bound), signal);
        }
        return await snapshot(jobId);
      } finally {
        release();
      }
    },

    async drain(windowMs) {
      draining = true;
      stopping.abort();
      const streams = hubs.subscriberCount();
      const started = Date.now();
      logger.info({ profile: profile.name, streams, windowMs }, 'drain started: closing streams spread over the window');
      const ended = await hubs.drain(windowMs);
      logger.info({ profile: profile.name, streams: ended, ms: Date.now() - started }, 'drain done');
    },

    async close() {
      draining = true;
      stopping.abort();
      clock.clearInterval(watchdog);
      await followers.close();
      await hubs.close();
    },
  };
}

/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Watches a hub for the first event carrying a job object (`parse`). `wait` resolves with it, or with
 * undefined at the job's end, when the hub closes or after `timeoutMs`; `stop` removes the watch.
 */
function watchForJob(clock: Clock, hub: JobHub, parse: (data: string) => Record<string, unknown> | undefined) {
  let found: Record<string, unknown> | undefined;
  let wake = () => {};
  const offEvent = hub.onEvent((event) => {
    found ??= parse(event.data);
    if (found) wake();
  });
  const offEnd = hub.onEnd(() => wake());
  return {
    found: () => found,
    wait(timeoutMs: number): Promise<Record<string, unknown> | undefined> {
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => {
        const timer = clock.setTimeout(() => wake(), Math.min(timeoutMs, MAX_TIMER_MS));
        wake = () => {
          clock.clearTimeout(timer);
          wake = () => {};
          resolve(found);
        };
      });
    },
    stop() {
      offEvent();
      offEnd();
      wake();
    },
  };
}

/** A ready hub's subscription for a client that has seen `since`: finished (the hub released) when it has it all, else open. */
export function openedOrFinished(hub: JobHub, since: number, release: () => void): SubscribeOutcome {
  if (!hub.isFinishedFor(since)) return { kind: 'open', hub, release };
  release();
  return { kind: 'finished' };
}

/**
 * Resolves when the hub sees the job's end (or closes), with `onEvent` also at its next cached
 * event, after `timeoutMs`, or when `signal` aborts; removes what it listened with on every path.
 */
export function untilHub(
  clock: Clock,
  hub: JobHub,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  { onEvent = false } = {},
): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clock.clearTimeout(timer);
      offEvent();
      offEnd();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, Math.min(timeoutMs, MAX_TIMER_MS));
    const offEvent = onEvent ? hub.onEvent(done) : () => {};
    const offEnd = hub.onEnd(done);
    signal?.addEventListener('abort', done, { once: true });
  });
}
