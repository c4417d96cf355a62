import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/core/bus/bus.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createMemoryBus } from '../../src/core/bus/memory-bus.ts';
import { type Relay, createRelay } from '../../src/core/relay.ts';
import { acmeProfile, controlledUpstream } from '../support/acme-stream.ts';
import { type ManualClock, manualClock } from '../support/clock.ts';

// Relay.waitForSnapshot: a stream:false create's wait for the job's first job object, through the
// hub (no polling of the bus).

/** The real memory bus, counting history reads. */
function countingBus() {
  const memory = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
  const counts = { history: 0 };
  const bus: Bus = {
    ...memory,
    history: (jobId, after) => {
      counts.history++;
      return memory.history(jobId, after);
    },
  };
  return { bus, counts };
}

let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

/** A relay on `clock` (default: the system's). */
function start(clock?: ManualClock) {
  const vendor = controlledUpstream();
  const { bus, counts } = countingBus();
  relay = createRelay({
    bus,
    profile: acmeProfile,
    upstream: vendor.upstream,
    redact: (text) => text,
    logger: silentLogger,
    instanceId: 't',
    historyMaxEvents: 100,
    heartbeatMs: 60_000,
    leaseMs: 1000,
    pollIntervalMs: 20,
    jobDeadlineMs: 60_000,
    ...(clock ? { clock } : {}),
  });
  return { relay, counts, ...vendor };
}

describe('Relay.waitForSnapshot', () => {
  it('waits for the first job object on the hub, reading the bus history once, however long it takes', async () => {
    const clock = manualClock();
    const { relay, emit, counts } = start(clock);
    emit({ seq: 0, id: 'j1', status: 'hello' });
    expect(await relay.create('x', {})).toEqual({ kind: 'job', jobId: 'j1' });
    const before = counts.history;
    let settled = false;
    const waiting = relay.waitForSnapshot('j1', 60_000).then((job) => {
      settled = true;
      return job;
    });
    // The wait has read what the bus holds (the hello event: no job object).
    await expect.poll(() => counts.history).toBeGreaterThan(before);
    const reads = counts.history;
    // Time for a poller to show itself: a wait on the hub reads nothing meanwhile.
    await clock.advance(300);
    expect(settled).toBe(false);
    expect(counts.history).toBe(reads);
    emit({ seq: 1, id: 'j1', status: 'queued' });
    emit({ seq: 2, id: 'j1', status: 'running' });
    expect(await waiting).toEqual({ id: 'j1', status: 'queued' });
    expect(counts.history).toBe(reads);
    expect(reads - before).toBeLessThanOrEqual(2);
  });

  it('answers the first job object at once when the bus has it, however far the job got', async () => {
    const { relay, emit } = start();
    emit({ seq: 0, id: 'j2', status: 'hello' });
    await relay.create('x', {});
    emit({ seq: 1, id: 'j2', status: 'queued' });
    emit({ seq: 2, id: 'j2', status: 'running' });
    await expect.poll(async () => (await relay.snapshot('j2'))?.status).toBe('running');
    expect(await relay.waitForSnapshot('j2', 60_000)).toEqual({ id: 'j2', status: 'queued' });
  });

  it('gives up with the latest job object (or null) when its time runs out or the relay closes', async () => {
    const { relay, emit } = start();
    emit({ seq: 0, id: 'j3', status: 'hello' });
    await relay.create('x', {});
    expect(await relay.waitForSnapshot('j3', 50)).toBeNull();
    const waiting = relay.waitForSnapshot('j3', 60_000);
    await expect.poll(() => relay.counts().waiters > 0).toBe(true);
    await relay.close();
    expect(await waiting).toBeNull();
  });
});
