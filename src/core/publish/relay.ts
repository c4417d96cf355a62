/**
 * The relay of one publisher namespace: jobs whose events come from the publish API instead of a
 * vendor. A publish is one atomic step on the bus (Publishing: deduplicated and numbered there);
 * subscribers get the same hubs as any job's, with the publisher's data and names in the frames.
 * A job whose publisher goes silent without a terminal event is ended after the deadline.
 */
import type { Bus } from '../bus/bus.ts';
import type { Config } from '../config.ts';
import { profileBus } from '../bus/profile-bus.ts';
import { type Clock, type TimerHandle, systemClock } from '../clock.ts';
import { RelayError, errorMessage } from '../errors.ts';
import { createHubRegistry } from '../fanout/hubs.ts';
import type { Logger } from '../logger.ts';
import { PROFILE_NAME } from '../profile.ts';
import { type RelayCounts, type SubscribeOutcome, openedOrFinished, untilHub } from '../relay.ts';
import { type RelayStats, createStats } from '../stats.ts';
import { type LatestEvent, PUBLISHED_FRAMES, type PublishedEvent, envelopeOf, latestOf, readEnvelope } from './event.ts';

export interface PublishedRelayOptions {
  /** The shared bus; this namespace's jobs live on it as `<namespace>:<jobid>`. */
  bus: Bus;
  namespace: string;
  /** Cuts every configured secret out of published data before it is stored. */
  redact(text: string): string;
  logger: Logger;
  historyMaxEvents: number;
  heartbeatMs: number;
  /** How often jobs with local subscribers are checked for a silent publisher. */
  leaseMs: number;
  /** A job whose publisher sent nothing for this long is ended with a synthesized terminal event. */
  jobDeadlineMs: number;
  /** How long an unused hub stays cached. */
  hubLingerMs?: number;
  /** How long a subscription to a job with no event yet waits for its first one (default 2 s). */
  unknownJobWaitMs?: number;
  stats?: RelayStats;
  clock?: Clock;
}

/** What one publish did: the seqs stored and those already stored, the job's last seq, whether it is over. */
export interface PublishResult {
  stored: number[];
  duplicates: number[];
  lastSeq: number;
  ended: boolean;
}

/** One namespace's published jobs on one instance. */
export interface PublishedRelay {
  readonly namespace: string;
  readonly stats: RelayStats;
  /** Stores a batch in one step (see Publishing.publish); a RelayError `conflict` (409) when the job is over. */
  publish(jobId: string, events: readonly PublishedEvent[]): Promise<PublishResult>;
  /** Opens a job's events for a subscriber that has seen up to `since`. */
  subscribe(jobId: string, since: number): Promise<SubscribeOutcome>;
  /** The job's latest event, or null when the bus holds none. */
  latest(jobId: string): Promise<LatestEvent | null>;
  /**
   * Ends the job with a synthesized terminal event if its publisher has been silent past the
   * deadline; else the time (ms since the epoch) to check again, or null when it is over or unknown.
   */
  endIfSilent(jobId: string): Promise<number | null>;
  counts(): RelayCounts;
  /** Refuses new subscriptions and ends the open streams spread over `windowMs`. */
  drain(windowMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The data of the terminal event that ends a job whose publisher went silent. */
export function silentPublisherData(deadlineMs: number): string {
  return JSON.stringify({
    error: `relay gave up: the publisher sent nothing for ${Math.round(deadlineMs / 1000)} s`,
    code: 'publisher_silent',
  });
}

export function createPublishedRelay(options: PublishedRelayOptions): PublishedRelay {
  const { namespace, logger } = options;
  if (!PROFILE_NAME.test(namespace)) throw new TypeError(`namespace must match ${PROFILE_NAME}: ${JSON.stringify(namespace)}`);
  const stats = options.stats ?? createStats();
  const clock = options.clock ?? systemClock;
  const bus = profileBus(options.bus, `${namespace}:`, {
    onStored: (count) => void (stats.eventsAppended += count),
    onError: (op) => void stats.busErrors[op]++,
  });
  const unknownJobWaitMs = options.unknownJobWaitMs ?? 2000;
  const stopping = new AbortController();
  let draining = false;
  const hubs = createHubRegistry({
    bus,
    historyMaxEvents: options.historyMaxEvents,
    heartbeatMs: options.heartbeatMs,
    lingerMs: options.hubLingerMs ?? 30_000,
    uniform: PUBLISHED_FRAMES,
    // The hubs count deliveries, gaps, drops and duplicates in the namespace's stats (its metrics).
    stats,
  });
  /** One deadline timer per job published through this instance, reset by each publish. */
  const deadlines = new Map<string, TimerHandle>();

  function armDeadline(jobId: string, at: number): void {
    clock.clearTimeout(deadlines.get(jobId));
    if (stopping.signal.aborted) return;
    const timer = clock.setTimeout(
      () => {
        deadlines.delete(jobId);
        endIfSilent(jobId)
          .then((next) => {
            if (next !== null) armDeadline(jobId, next);
          })
          .catch((err: unknown) => logger.warn({ namespace, jobId, err: errorMessage(err) }, 'silent publisher check failed'));
      },
      Math.max(0, at - clock.now()),
    );
    deadlines.set(jobId, timer);
  }

  function disarm(jobId: string): void {
    clock.clearTimeout(deadlines.get(jobId));
    deadlines.delete(jobId);
  }

  async function endIfSilent(jobId: string): Promise<number | null> {
    const state = await bus.state(jobId);
    if (!state || state.terminalSeq !== null) return null;
    const [last] = await bus.history(jobId, state.lastSeq - 1);
    const due = (readEnvelope(last?.data ?? '')?.ts ?? 0) + options.jobDeadlineMs;
    const now = clock.now();
    if (now < due) return due;
    const ended = { data: silentPublisherData(options.jobDeadlineMs), seq: state.lastSeq + 1, terminal: true };
    const outcome = await bus.publish(jobId, [{ ...ended, data: envelopeOf(ended, now, options.redact) }]);
    if (outcome.kind === 'stored' && outcome.stored.length > 0) {
      logger.warn({ namespace, jobId, lastSeq: state.lastSeq }, 'publisher silent past the deadline; job ended');
      return null;
    }
    // Someone published meanwhile: its time counts now.
    return outcome.kind === 'over' ? null : endIfSilent(jobId);
  }

  // Jobs with local subscribers are checked wherever their publisher went: no job waits forever.
  const watchdog = clock.setInterval(() => {
    for (const hub of hubs.busy()) {
      if (hub.terminalSeq !== null || hub.lastSeq < 0) continue;
      endIfSilent(hub.jobId).catch((err: unknown) => {
        logger.warn({ namespace, jobId: hub.jobId, err: errorMessage(err) }, 'silent publisher check failed');
      });
    }
  }, options.leaseMs);

  return {
    namespace,
    stats,

    async publish(jobId, events) {
      const now = clock.now();
      const inputs = events.map((event) => ({
        data: envelopeOf(event, now, options.redact),
        terminal: event.terminal,
        ...(event.seq === undefined ? {} : { seq: event.seq }),
      }));
      const outcome = await bus.publish(jobId, inputs);
      if (outcome.kind === 'over') {
        throw new RelayError('conflict', `job is over (terminal event at seq ${outcome.terminalSeq}); nothing was stored`);
      }
      // A retry stored nothing: whether the job is over, the bus tells.
      const ended = outcome.stored.length > 0 ? outcome.stored.at(-1)?.terminal === true : (await bus.state(jobId))?.terminalSeq != null;
      if (ended) disarm(jobId);
      else if (outcome.stored.length > 0) armDeadline(jobId, now + options.jobDeadlineMs);
      return { stored: outcome.stored.map((event) => event.seq), duplicates: outcome.duplicates, lastSeq: outcome.lastSeq, ended };
    },

    async subscribe(jobId, since) {
      if (draining) throw new RelayError('unavailable', 'this instance is shutting down', { retryAfterS: 1 });
      const { hub, release } = hubs.acquire(jobId);
      try {
        await hub.ready();
        // A job exists from its first event: a subscriber that came first waits a moment for it.
        if (hub.lastSeq < 0) await untilHub(clock, hub, unknownJobWaitMs, stopping.signal, { onEvent: true });
        if (stopping.signal.aborted) throw new RelayError('unavailable', 'this instance is shutting down', { retryAfterS: 1 });
        if (hub.lastSeq < 0) throw new RelayError('not_found', 'Job not found');
        return openedOrFinished(hub, since, release);
      } catch (err) {
        release();
        throw err;
      }
    },

    async latest(jobId) {
      const state = await bus.state(jobId);
      if (!state || state.lastSeq < 0) return null;
      const [last] = await bus.history(jobId, state.lastSeq - 1);
      return last ? latestOf(last) : null;
    },

    endIfSilent,

    counts: () => ({ subscribers: hubs.subscriberCount(), waiters: hubs.waiterCount(), followed: [] }),

    async drain(windowMs) {
      draining = true;
      stopping.abort();
      await hubs.drain(windowMs);
    },

    async close() {
      draining = true;
      stopping.abort();
      clock.clearInterval(watchdog);
      for (const jobId of [...deadlines.keys()]) disarm(jobId);
      await hubs.close();
    },
  };
}

/** Each publisher namespace's relay (PUBLISHERS), on the shared `bus`, timed by the configuration. */
export function createPublishedRelays(
  config: Pick<Config, 'PUBLISHERS' | 'HISTORY_MAX_EVENTS' | 'HEARTBEAT_MS' | 'LEASE_MS' | 'JOB_DEADLINE_MS' | 'POLL_INTERVAL_MS'>,
  deps: Pick<PublishedRelayOptions, 'bus' | 'redact' | 'logger' | 'clock'>,
): Map<string, PublishedRelay> {
  const namespaces = [...new Set(config.PUBLISHERS.map((entry) => entry.namespace))];
  return new Map(
    namespaces.map((namespace) => [
      namespace,
      createPublishedRelay({
        ...deps,
        namespace,
        historyMaxEvents: config.HISTORY_MAX_EVENTS,
        heartbeatMs: config.HEARTBEAT_MS,
        leaseMs: config.LEASE_MS,
        jobDeadlineMs: config.JOB_DEADLINE_MS,
        unknownJobWaitMs: Math.max(2000, config.POLL_INTERVAL_MS * 2),
      }),
    ]),
  );
}
