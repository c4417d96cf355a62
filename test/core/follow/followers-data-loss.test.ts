import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../../src/core/bus/bus.ts';
import { type Followers, createFollowers } from '../../../src/core/follow/followers.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import type { UpstreamClient } from '../../../src/core/ingest/upstream.ts';
import { type ManualClock, manualClock } from '../../support/clock.ts';
import { jobApiClient, midjourneyFollow } from '../../support/job-api.ts';
import { until } from '../../support/until.ts';

// A bus that loses everything at once (Redis restarted without persistence) under followers
// that live on: two writers must never give one seq two different events. Leases and the wait
// for a live owner run on a manual clock: which instance renews or takes over first is the
// order of their timers, not the machine's speed.

const retention = { historyMaxEvents: 100, historyTtlMs: 60_000 };
const LEASE_MS = 300;
/** The memory bus on `clock` behind a switch: forget() swaps in an empty one, as Redis restarting empty would. */
function forgetfulBus(clock: ManualClock) {
  let current = createMemoryBus({ ...retention, now: clock.now });
  let since = clock.now();
  const bus: Bus = {
    dataSince: async () => since,
    append: (jobId, input) => current.append(jobId, input),
    appendMany: (jobId, inputs) => current.appendMany!(jobId, inputs),
    publish: (jobId, events) => current.publish(jobId, events),
    history: (jobId, after) => current.history(jobId, after),
    state: (jobId) => current.state(jobId),
    subscribe: (jobId, listener) => current.subscribe(jobId, listener),
    acquireLease: (jobId, owner, ttl) => current.acquireLease(jobId, owner, ttl),
    renewLease: (jobId, owner, ttl) => current.renewLease(jobId, owner, ttl),
    claimLease: (jobId, owner, ttl) => current.claimLease(jobId, owner, ttl),
    releaseLease: (jobId, owner) => current.releaseLease(jobId, owner),
    ping: async () => {},
    close: async () => {},
  };
  return {
    bus,
    forget() {
      void current.close();
      current = createMemoryBus({ ...retention, now: clock.now });
      since = clock.now();
    },
  };
}

/** One instance's view of the bus, recording its lease attempts and what they answered. */
function instanceBus(bus: Bus) {
  const acquired: boolean[] = [];
  return {
    acquired,
    bus: {
      ...bus,
      acquireLease: async (jobId: string, owner: string, ttl: number) => {
        const held = await bus.acquireLease(jobId, owner, ttl);
        acquired.push(held);
        return held;
      },
    } satisfies Bus,
  };
}

/** An upstream whose jobs are always running, a little further on each poll; `gone` ones are unknown, `created` says when some began. */
function runningUpstream(gone: string[] = [], created: Record<string, number> = {}) {
  const counter = { polls: 0 };
  const upstream: UpstreamClient = jobApiClient(async (jobid) => {
    counter.polls++;
    if (gone.includes(jobid)) return { status: 404, body: { error: 'not found' } };
    const at = created[jobid];
    return {
      status: 200,
      body: {
        jobid,
        status: 'progress',
        updated: String(counter.polls),
        response: { progress_percent: counter.polls },
        ...(at === undefined ? {} : { created: new Date(at).toISOString() }),
      },
    };
  });
  return { upstream, counter };
}

/** An upstream stream the test writes events into. */
function controlledStream() {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    body,
    send(line: string) {
      controller.enqueue(encoder.encode(`data: ${line}\n\n`));
    },
  };
}

const progress = (jobId: string, seq: number) =>
  `{"event":"midjourney_progress","job":{"jobid":"${jobId}","status":"progress"},"seq":${seq},"ts":"x"}`;

const open: Followers[] = [];
function followers(name: string, bus: Bus, upstream: UpstreamClient, clock: ManualClock): Followers {
  const created = createFollowers({
    ...midjourneyFollow,
    bus,
    upstream,
    logger: silentLogger,
    owner: name,
    leaseMs: LEASE_MS,
    pollIntervalMs: 20,
    jobDeadlineMs: 60_000,
    clock,
  });
  open.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

/** Instance A follows `jobId` from its stream on a bus that can forget, and has stored seqs 0 to 5. */
async function ownerAtSeq5(jobId: string) {
  const clock = manualClock();
  const shared = forgetfulBus(clock);
  const { upstream } = runningUpstream();
  const owner = followers('A', shared.bus, upstream, clock);
  const stream = controlledStream();
  stream.send(`{"event":"initialized","jobId":"${jobId}","seq":0,"ts":"x"}`);
  expect(await owner.followStream(stream.body)).toBe(jobId);
  for (let seq = 1; seq <= 5; seq++) stream.send(progress(jobId, seq));
  await until(
    () => shared.bus.state(jobId),
    (state) => state?.lastSeq === 5,
  );
  return { clock, shared, upstream, stream, jobId };
}

describe('followers after the bus lost a job', () => {
  it('a cold takeover leaves a job alone while its live owner goes on: no second seq 0, no silent hole', async () => {
    const { clock, shared, upstream, stream, jobId } = await ownerAtSeq5('j1:restart');

    shared.forget();
    // A cold instance's first subscriber asks for the job while the bus holds nothing of it.
    const cold = instanceBus(shared.bus);
    expect(await followers('B', cold.bus, upstream, clock).ensure(jobId)).toBe('awaiting-owner');
    stream.send(progress(jobId, 6));
    await clock.advanceUntil(() => cold.acquired.length > 0, LEASE_MS / 6);

    expect(cold.acquired).toEqual([false]);
    const stored = await shared.bus.history(jobId, -1);
    expect(stored.map((e) => [e.seq, e.prev])).toEqual([[6, 5]]);
  });

  it('a takeover numbering on above its hub waits for the live owner too (no seq written twice)', async () => {
    const { clock, shared, upstream, stream, jobId } = await ownerAtSeq5('j2:restart');

    shared.forget();
    // A warm instance whose hub missed seq 5 (it was stored just before the loss).
    const warm = instanceBus(shared.bus);
    expect(await followers('C', warm.bus, upstream, clock).ensure(jobId, 4)).toBe('awaiting-owner');
    await clock.advanceUntil(() => warm.acquired.length > 0, LEASE_MS / 6);
    stream.send(progress(jobId, 6));
    await until(
      () => shared.bus.state(jobId),
      (state) => state?.lastSeq === 6,
    );

    expect(warm.acquired).toEqual([false]);
    expect((await shared.bus.history(jobId, -1)).map((e) => [e.seq, e.prev])).toEqual([[6, 5]]);
  });

  it('still takes over a job from before the loss once no owner showed up, and answers an unknown one at once', async () => {
    const clock = manualClock();
    const shared = forgetfulBus(clock);
    const { upstream } = runningUpstream(['j3:gone']);
    const instance = followers('B', shared.bus, upstream, clock);
    expect(await instance.ensure('j3:gone')).toBe('unknown');
    expect(await instance.ensure('j3:elsewhere')).toBe('awaiting-owner');
    expect(instance.active()).toEqual([]);
    expect(await instance.ensure('j3:elsewhere')).toBe('awaiting-owner');
    await clock.advanceUntil(async () => (await shared.bus.history('j3:elsewhere', -1)).length > 0, LEASE_MS / 6);
    expect((await shared.bus.history('j3:elsewhere', -1))[0]).toMatchObject({ seq: 0, prev: -1 });
    expect(instance.active()).toEqual(['j3:elsewhere']);
  });

  it('follows at once a job created upstream after the bus data began (it never held it: nothing to collide with)', async () => {
    const clock = manualClock();
    const shared = forgetfulBus(clock);
    const { upstream } = runningUpstream([], { 'j4:new': clock.now() + 2 * LEASE_MS });
    const instance = followers('B', shared.bus, upstream, clock);
    expect(await instance.ensure('j4:new')).toBe('following');
    expect(instance.active()).toEqual(['j4:new']);
  });
});
