import { afterEach, describe, expect, it } from 'vitest';
import type { AppendInput, Bus } from '../../src/core/bus/bus.ts';
import type { SubscriberSink } from '../../src/core/fanout/hub.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createMemoryBus } from '../../src/core/bus/memory-bus.ts';
import { type Relay, type SubscribeOutcome, createRelay } from '../../src/core/relay.ts';
import type { UpstreamClient } from '../../src/core/ingest/upstream.ts';
import type { Clock } from '../../src/core/clock.ts';
import { manualClock } from '../support/clock.ts';
import { jobApiClient, midjourneyFollow } from '../support/job-api.ts';
import { until } from '../support/until.ts';

// Relay.subscribe to a job this instance has seen nothing of: it waits for the job's first event
// through the hub (no polling), a lease longer when the bus may have lost the job's data (its owner
// gets a lease to show up), and answers 404 at once for a job the vendor does not know.

/** One turn of the event loop: what settles before it needed no timer. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The real memory bus; `lossy` adds dataSince (its data began now), as Redis has, so empty means maybe lost. */
function memoryBus(lossy: boolean): Bus {
  const memory = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
  const since = Date.now();
  return lossy ? { ...memory, dataSince: async () => since } : memory;
}

/** A job API whose jobs are running (no creation time: from before the bus data began), except `gone` ones. */
function runningUpstream(gone: string[] = []) {
  const polls: string[] = [];
  const upstream: UpstreamClient = jobApiClient(async (jobid) => {
    polls.push(jobid);
    if (gone.includes(jobid)) return { status: 404, body: { error: 'not found' } };
    return { status: 200, body: { jobid, status: 'progress', updated: String(polls.length), response: { progress_percent: 1 } } };
  });
  return { upstream, polls };
}

let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

/** The relay's jobs on `bus` by their ids, as another instance (owner `A`) writes them: under `<profile>:<jobid>`. */
function jobsOn(bus: Bus) {
  const key = (jobId: string) => `${midjourneyFollow.profile.name}:${jobId}`;
  return {
    acquireLease: (jobId: string, owner: string, ttlMs: number) => bus.acquireLease(key(jobId), owner, ttlMs),
    append: (jobId: string, event: AppendInput) => bus.append(key(jobId), event),
  };
}

function start(bus: Bus, upstream: UpstreamClient, timing: { leaseMs: number; unknownJobWaitMs: number; clock?: Clock }): Relay {
  relay = createRelay({
    ...midjourneyFollow,
    bus,
    upstream,
    logger: silentLogger,
    instanceId: 'B',
    historyMaxEvents: 100,
    heartbeatMs: 60_000,
    pollIntervalMs: 20,
    jobDeadlineMs: 60_000,
    ...timing,
  });
  return relay;
}

/** Listeners a waiting subscription holds on the relay's hubs: end waiters and event watchers. */
const listeners = (relay: Relay) => relay.counts().waiters;

/** Tracks whether a subscription has settled yet. */
function track(subscription: Promise<SubscribeOutcome>) {
  const state = { settled: false };
  subscription.then(
    () => void (state.settled = true),
    () => void (state.settled = true),
  );
  return state;
}

const event = (seq: number) => ({ seq, prev: seq - 1, data: JSON.stringify({ seq }), terminal: false });

function collect(): SubscriberSink & { text: () => string } {
  const decoder = new TextDecoder();
  let text = '';
  return {
    write(bytes) {
      text += decoder.decode(bytes);
      return true;
    },
    end: () => undefined,
    text: () => text,
  };
}

describe('subscribe to a job this instance has not seen', () => {
  it('resolves as soon as the first event of a job followed elsewhere reaches the hub: no polling loop', async () => {
    const { upstream } = runningUpstream();
    const bus = memoryBus(false);
    // On a clock that never moves: no timer of the relay can fire.
    const r = start(bus, upstream, { leaseMs: 60_000, unknownJobWaitMs: 60_000, clock: manualClock() });
    expect(await jobsOn(bus).acquireLease('j1', 'A', 60_000)).toBe(true);
    const subscription = r.subscribe('j1', -1);
    await until(
      () => listeners(r),
      (n) => n > 0,
    );

    await jobsOn(bus).append('j1', event(0));
    // The memory bus delivers at once: the subscription settles within the append's microtasks,
    // before any timer (a sleep loop would need one to fire).
    const first = await Promise.race([subscription, nextTurn().then(() => 'timer' as const)]);
    expect(first).toMatchObject({ kind: 'open' });
    if (first === 'timer' || first.kind !== 'open') return;
    expect(first.hub.lastSeq).toBe(0);
    expect(listeners(r)).toBe(0);
    first.release();
  });

  it('answers 404 when a job followed elsewhere sends nothing within unknownJobWaitMs, its listeners released', async () => {
    const { upstream } = runningUpstream();
    const bus = memoryBus(false);
    const r = start(bus, upstream, { leaseMs: 60_000, unknownJobWaitMs: 50 });
    await jobsOn(bus).acquireLease('j2', 'A', 60_000);
    await expect(r.subscribe('j2', -1)).rejects.toMatchObject({ code: 'not_found' });
    expect(listeners(r)).toBe(0);
  });

  it('answers 404 at once for a job the vendor does not know, even when the bus may have lost data', async () => {
    const { upstream, polls } = runningUpstream(['j3']);
    // Waits this long would outlast the test's timeout: the 404 comes without waiting.
    const r = start(memoryBus(true), upstream, { leaseMs: 60_000, unknownJobWaitMs: 60_000 });
    await expect(r.subscribe('j3', -1)).rejects.toMatchObject({ code: 'not_found' });
    expect(polls).toEqual(['j3']);
  });

  it('gives up waiting with 503 when the relay drains, its listeners released', async () => {
    const { upstream } = runningUpstream();
    const bus = memoryBus(false);
    const r = start(bus, upstream, { leaseMs: 60_000, unknownJobWaitMs: 60_000 });
    await jobsOn(bus).acquireLease('j4', 'A', 60_000);
    const subscription = r.subscribe('j4', -1);
    await until(
      () => listeners(r),
      (n) => n > 0,
    );
    await r.drain(0);
    await expect(subscription).rejects.toMatchObject({ code: 'unavailable' });
    expect(listeners(r)).toBe(0);
  });

  it('after bus data loss, waits past unknownJobWaitMs for the live owner, then serves its first event', async () => {
    const { upstream } = runningUpstream();
    const bus = memoryBus(true);
    const clock = manualClock();
    const r = start(bus, upstream, { leaseMs: 10_000, unknownJobWaitMs: 50, clock });
    const subscription = r.subscribe('j5', -1);
    const state = track(subscription);
    await until(
      () => listeners(r),
      (n) => n > 0,
    );
    // The owner took its lease again; its first event comes later than unknownJobWaitMs.
    expect(await jobsOn(bus).acquireLease('j5', 'A', 60_000)).toBe(true);
    await clock.advance(200);
    expect(state.settled).toBe(false);

    await jobsOn(bus).append('j5', event(7));
    const outcome = await subscription;
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    const sink = collect();
    outcome.hub.attach(sink, -1);
    expect(sink.text()).toContain('id: 7\n');
    outcome.hub.detach(sink);
    outcome.release();
  });

  it('after bus data loss with no owner left, waits the lease for the takeover and serves its first event', async () => {
    const { upstream, polls } = runningUpstream();
    const r = start(memoryBus(true), upstream, { leaseMs: 300, unknownJobWaitMs: 50 });
    const outcome = await r.subscribe('j6', -1);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(outcome.hub.lastSeq).toBe(0);
    expect(polls.length).toBeGreaterThanOrEqual(2);
    const sink = collect();
    outcome.hub.attach(sink, -1);
    expect(sink.text()).toContain('id: 0\n');
    outcome.hub.detach(sink);
    outcome.release();
  });
});
