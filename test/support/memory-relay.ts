import { silentLogger } from '../../src/core/logger.ts';
import type { AppendInput, Bus, JobState, StoredEvent } from '../../src/core/bus/bus.ts';
import { createMemoryBus } from '../../src/core/bus/memory-bus.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { UpstreamProfile } from '../../src/core/profile.ts';
import { type Relay, type RelayOptions, createRelay } from '../../src/core/relay.ts';
import type { UpstreamClient } from '../../src/core/ingest/upstream.ts';

/** What a unit test may set; the rest is quiet and slow enough never to fire on its own. */
export type MemoryRelayOptions = Partial<Pick<RelayOptions, 'historyMaxEvents' | 'pollIntervalMs' | 'jobDeadlineMs'>> & {
  /** Times the relay and its bus (default: the system clock); a manual one lets the test move time itself. */
  clock?: Clock;
  /** Wraps the memory bus the relay uses (a fault or a held append); `stored` reads the bus itself. */
  wrapBus?: (bus: Bus) => Bus;
};

/** The relay's jobs as its bus stores them (under `<profile>:<jobid>`), by the relay's job ids. */
export interface StoredJobs {
  state(jobId: string): Promise<JobState | null>;
  history(jobId: string, afterSeq: number): Promise<StoredEvent[]>;
  append(jobId: string, event: AppendInput): Promise<StoredEvent | null>;
}

/**
 * A relay for one profile on its own memory bus, keeping `historyMaxEvents` (default 100) events
 * for a minute, with no logging or redaction, a 1 s lease, 60 s heartbeats and a 60 s job deadline,
 * on `clock` when given; `stored` reads and writes its jobs on that bus.
 */
export function memoryRelay(
  profile: UpstreamProfile,
  upstream: UpstreamClient,
  options: MemoryRelayOptions = {},
): Relay & { stored: StoredJobs } {
  const historyMaxEvents = options.historyMaxEvents ?? 100;
  const { clock } = options;
  const bus = createMemoryBus({ historyMaxEvents, historyTtlMs: 60_000, ...(clock ? { now: () => clock.now() } : {}) });
  const relay = createRelay({
    bus: options.wrapBus ? options.wrapBus(bus) : bus,
    profile,
    upstream,
    redact: (text) => text,
    logger: silentLogger,
    instanceId: 't',
    historyMaxEvents,
    heartbeatMs: 60_000,
    leaseMs: 1000,
    pollIntervalMs: options.pollIntervalMs ?? 20,
    jobDeadlineMs: options.jobDeadlineMs ?? 60_000,
    ...(clock ? { clock } : {}),
  });
  const key = (jobId: string) => `${profile.name}:${jobId}`;
  const stored: StoredJobs = {
    state: (jobId) => bus.state(key(jobId)),
    history: (jobId, afterSeq) => bus.history(key(jobId), afterSeq),
    append: (jobId, event) => bus.append(key(jobId), event),
  };
  return { ...relay, stored };
}
