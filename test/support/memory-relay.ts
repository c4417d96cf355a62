import { silentLogger } from '../../src/core/logger.ts';
import { createMemoryBus } from '../../src/core/bus/memory-bus.ts';
import type { UpstreamProfile } from '../../src/core/profile.ts';
import { type Relay, type RelayOptions, createRelay } from '../../src/core/relay.ts';
import type { UpstreamClient } from '../../src/core/ingest/upstream.ts';

/** What a unit test may set; the rest is quiet and slow enough never to fire on its own. */
export type MemoryRelayOptions = Partial<Pick<RelayOptions, 'historyMaxEvents' | 'pollIntervalMs' | 'jobDeadlineMs'>>;

/**
 * A relay for one profile on its own memory bus, keeping `historyMaxEvents` (default 100) events
 * for a minute, with no logging or redaction, a 1 s lease, 60 s heartbeats and a 60 s job deadline.
 */
export function memoryRelay(profile: UpstreamProfile, upstream: UpstreamClient, options: MemoryRelayOptions = {}): Relay {
  const historyMaxEvents = options.historyMaxEvents ?? 100;
  return createRelay({
    bus: createMemoryBus({ historyMaxEvents, historyTtlMs: 60_000 }),
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
  });
}
