import { describe, expect, it } from 'vitest';
import type { Bus } from '../../../src/core/bus/bus.ts';
import { RelayError } from '../../../src/core/errors.ts';
import { type FollowerOptions, createFollowers } from '../../../src/core/follow/followers.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import type { UpstreamClient } from '../../../src/core/ingest/upstream.ts';
import { manualClock } from '../../support/clock.ts';
import { jobApiClient, midjourneyFollow } from '../../support/job-api.ts';
import { until } from '../../support/until.ts';

// A hostile upstream at the stream level: bodies this test writes line by line, and a job
// API whose answers the test chooses.

const encoder = new TextEncoder();

/** An upstream body the test writes to; `cancelled` once the reader gave it up. */
function controlledBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const state = { cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return {
    body,
    state,
    send(payload: Record<string, unknown>) {
      if (!state.cancelled) controller.enqueue(encoder.encode(`data: ${JSON.stringify(payload)}\n\n`));
    },
    close() {
      if (!state.cancelled) controller.close();
    },
  };
}

/** A job API: getJob answers with `job()` and counts the polls. */
function jobApi(job: (jobid: string) => Record<string, unknown>) {
  const counter = { polls: 0 };
  const upstream: UpstreamClient = jobApiClient(async (jobid) => {
    counter.polls++;
    return { status: 200, body: job(jobid) };
  });
  return { upstream, counter };
}

const newBus = (now?: () => number) => createMemoryBus({ historyMaxEvents: 1000, historyTtlMs: 60_000, ...(now ? { now } : {}) });

function followers(bus: Bus, upstream: UpstreamClient, extra: Partial<FollowerOptions> = {}) {
  return createFollowers({
    ...midjourneyFollow,
    bus,
    upstream,
    logger: silentLogger,
    owner: 'A',
    leaseMs: 300,
    pollIntervalMs: 20,
    jobDeadlineMs: 60_000,
    ...extra,
  });
}

const init = (jobId: string) => ({ event: 'initialized', message: 'Stream initialized', jobId, seq: 0, ts: 'x' });
const progress = (jobId: string, seq: number) => ({
  event: 'midjourney_progress',
  job: { jobid: jobId, status: 'progress', response: { progress_percent: seq } },
  seq,
  ts: 'x',
});
const completed = (jobId: string, seq: number) => ({
  event: 'midjourney_completed',
  job: { jobid: jobId, status: 'completed' },
  seq,
  ts: 'x',
});

describe('only stored events change a follow', () => {
  it('keeps following after an out-of-order terminal event the bus refused, and stores the real terminal', async () => {
    const memory = newBus();
    let refusals = 0;
    // The memory bus, telling the test when it refused an append.
    const bus: Bus = {
      ...memory,
      append: async (jobId, input) => {
        const stored = await memory.append(jobId, input);
        if (!stored) refusals++;
        return stored;
      },
      appendMany: undefined,
    };
    const { upstream, counter } = jobApi((jobid) => ({ jobid, status: 'progress' }));
    const f = followers(bus, upstream);
    const jobId = 'j1:stray-terminal';
    const up = controlledBody();
    up.send(init(jobId));
    const named = f.followStream(up.body);
    expect(await named).toBe(jobId);
    for (let seq = 1; seq <= 5; seq++) up.send(progress(jobId, seq));
    await until(
      () => bus.state(jobId),
      (state) => state?.lastSeq === 5,
    );
    up.send({ ...completed(jobId, 3), marker: 'out-of-order' });
    await until(
      () => refusals,
      (n) => n === 1,
    );
    up.send(progress(jobId, 6));
    up.send(completed(jobId, 7));
    up.close();
    await until(f.active, (active) => active.length === 0);
    const stored = await bus.history(jobId, -1);
    expect(stored.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(stored.some((e) => e.data.includes('out-of-order'))).toBe(false);
    expect((await bus.state(jobId))?.terminalSeq).toBe(7);
    expect(JSON.parse(stored.at(-1)?.data ?? '{}').event).toBe('midjourney_completed');
    expect(counter.polls).toBe(0);
    await f.close();
  });
});

describe('a stream that stays open after its terminal event', () => {
  it('is closed once the terminal event is stored, and the follow ends', async () => {
    const bus = newBus();
    const { upstream, counter } = jobApi((jobid) => ({ jobid, status: 'completed' }));
    const f = followers(bus, upstream);
    const jobId = 'j1:open-after-end';
    const up = controlledBody();
    up.send(init(jobId));
    expect(await f.followStream(up.body)).toBe(jobId);
    up.send(completed(jobId, 1));
    await until(() => up.state.cancelled && f.active().length === 0, Boolean);
    expect((await bus.state(jobId))?.terminalSeq).toBe(1);
    expect(counter.polls).toBe(0);
    await f.close();
  });
});

describe('seqs the bus cannot store', () => {
  it('counts a seq above 2^52 as malformed instead of storing it', async () => {
    const bus = newBus();
    const { upstream } = jobApi((jobid) => ({ jobid, status: 'completed' }));
    const malformed: string[] = [];
    const f = followers(bus, upstream, { onMalformed: (reason) => void malformed.push(reason) });
    const jobId = 'j1:huge-seq';
    const up = controlledBody();
    up.send(init(jobId));
    expect(await f.followStream(up.body)).toBe(jobId);
    up.send(progress(jobId, Number.MAX_SAFE_INTEGER));
    up.send(completed(jobId, 1));
    up.close();
    await until(f.active, (active) => active.length === 0);
    expect(malformed).toEqual(['seq out of range']);
    expect((await bus.history(jobId, -1)).map((e) => e.seq)).toEqual([0, 1]);
    await f.close();
  });

  it('does not retry an append the bus refuses for good, and lets the follow go at once', async () => {
    const memory = newBus();
    let attempts = 0;
    const refusing: Bus = {
      ...memory,
      append: async (jobId, input) => {
        if (input.seq < 1) return memory.append(jobId, input);
        attempts++;
        throw new TypeError(`seq must be a non-negative integer, got ${input.seq}`);
      },
      appendMany: undefined,
    };
    const { upstream } = jobApi((jobid) => ({ jobid, status: 'progress' }));
    const f = followers(refusing, upstream);
    const jobId = 'j1:refused';
    const up = controlledBody();
    up.send(init(jobId));
    expect(await f.followStream(up.body)).toBe(jobId);
    up.send(progress(jobId, 1));
    // Retried, this would take 20 attempts over ~30 s before the follow gave up.
    await until(f.active, (active) => active.length === 0, 5000);
    expect(attempts).toBe(1);
    expect(up.state.cancelled).toBe(true);
    await f.close();
  });

  it('retries an append while the bus is unreachable, and stores it once it is back', async () => {
    const memory = newBus();
    let failures = 0;
    const flaky: Bus = {
      ...memory,
      append: async (jobId, input) => {
        if (input.seq === 1 && failures < 2) {
          failures++;
          throw new RelayError('unavailable', 'event bus unavailable');
        }
        return memory.append(jobId, input);
      },
      appendMany: undefined,
    };
    const { upstream } = jobApi((jobid) => ({ jobid, status: 'progress' }));
    const f = followers(flaky, upstream);
    const jobId = 'j1:flaky';
    const up = controlledBody();
    up.send(init(jobId));
    expect(await f.followStream(up.body)).toBe(jobId);
    up.send(progress(jobId, 1));
    up.send(completed(jobId, 2));
    up.close();
    await until(f.active, (active) => active.length === 0);
    expect(failures).toBe(2);
    expect((await memory.history(jobId, -1)).map((e) => e.seq)).toEqual([0, 1, 2]);
    await f.close();
  });
});

describe('an upstream stream that goes quiet', () => {
  it('is abandoned for polling after the idle limit, and the job ends from polling', async () => {
    const bus = newBus();
    let done = false;
    const { upstream, counter } = jobApi((jobid) => ({ jobid, status: done ? 'completed' : 'progress', updated: String(done) }));
    const f = followers(bus, upstream, { upstreamIdleMs: 200 });
    const jobId = 'j1:quiet';
    const up = controlledBody();
    up.send(init(jobId));
    expect(await f.followStream(up.body)).toBe(jobId);
    up.send(progress(jobId, 1));
    // ... and then nothing, with the connection open.
    await until(() => up.state.cancelled, Boolean);
    await until(
      () => counter.polls,
      (polls) => polls > 0,
    );
    done = true;
    await until(f.active, (active) => active.length === 0);
    const state = await bus.state(jobId);
    expect(state?.terminalSeq).not.toBeNull();
    const last = (await bus.history(jobId, -1)).at(-1);
    expect(JSON.parse(last?.data ?? '{}').event).toBe('midjourney_completed');
    await f.close();
  });

  it('holds the job deadline while the stream is read, ending the job and the stream', async () => {
    const clock = manualClock();
    const bus = newBus(clock.now);
    const { upstream, counter } = jobApi((jobid) => ({ jobid, status: 'progress' }));
    const f = followers(bus, upstream, { jobDeadlineMs: 300, clock });
    const jobId = 'j1:endless';
    const up = controlledBody();
    up.send(init(jobId));
    expect(await f.followStream(up.body)).toBe(jobId);
    // A stream that never goes quiet and never ends: an event every 10 ms on the clock.
    let seq = 1;
    clock.setInterval(() => up.send(progress(jobId, seq++)), 10);
    await clock.advanceUntil(async () => (await bus.state(jobId))?.terminalSeq != null, 10);
    const last = (await bus.history(jobId, -1)).at(-1);
    expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ event: 'error', jobId, error: 'relay gave up: job exceeded its deadline' });
    await until(() => up.state.cancelled && f.active().length === 0, Boolean);
    expect(counter.polls).toBe(0);
    await f.close();
  });
});

describe('the job deadline on a takeover', () => {
  it("counts from the job object's creation time, not from the takeover", async () => {
    const bus = newBus();
    const created = new Date(Date.now() - 3_600_000).toISOString();
    const { upstream } = jobApi((jobid) => ({ jobid, status: 'progress', created, updated: String(Math.random()) }));
    const f = followers(bus, upstream, { jobDeadlineMs: 30 * 60_000 });
    const jobId = 'j1:old';
    const snapshot = JSON.stringify({ event: 'midjourney_progress', job: { jobid: jobId, status: 'progress', created }, seq: 0 });
    await bus.append(jobId, { seq: 0, data: snapshot, terminal: false, snapshot });
    expect(await f.ensure(jobId)).toBe('following');
    await until(
      () => bus.state(jobId),
      (state) => state?.terminalSeq != null,
    );
    const last = (await bus.history(jobId, -1)).at(-1);
    expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ event: 'error', jobId, error: 'relay gave up: job exceeded its deadline' });
    await f.close();
  });
});

describe('one follower at a time', () => {
  it('has the stream holder claim its lease back, and a poller that took it meanwhile stop', async () => {
    const clock = manualClock();
    const bus = newBus(clock.now);
    const api = jobApi((jobid) => ({ jobid, status: 'progress', updated: String(Math.random()) }));
    const a = followers(bus, api.upstream, { owner: 'A', clock });
    const b = followers(bus, api.upstream, { owner: 'B', clock });
    const jobId = 'j1:two-followers';
    const up = controlledBody();
    up.send(init(jobId));
    expect(await a.followStream(up.body)).toBe(jobId);
    up.send(progress(jobId, 1));
    await until(
      () => bus.state(jobId),
      (state) => state?.lastSeq === 1,
    );

    // A's lease lapsed (Redis paused longer than LEASE_MS) and B's watchdog took the job.
    await bus.releaseLease(jobId, 'A');
    expect(await b.ensure(jobId)).toBe('following');
    await clock.advanceUntil(() => b.active().length === 0, 20);
    expect(a.active()).toEqual([jobId]);
    expect(await bus.acquireLease(jobId, 'C', 1000)).toBe(false);

    // A still reads the stream and stores the rest, the real terminal included.
    const seqBase = ((await bus.state(jobId))?.lastSeq ?? 1) + 1;
    up.send(progress(jobId, seqBase));
    up.send(completed(jobId, seqBase + 1));
    up.close();
    await until(a.active, (active) => active.length === 0);
    const state = await bus.state(jobId);
    expect(state?.terminalSeq).toBe(seqBase + 1);
    const seqs = (await bus.history(jobId, -1)).map((e) => e.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
    await a.close();
    await b.close();
  });

  it('has a poller whose append was refused by a newer seq re-read the state instead of retrying a stale seq', async () => {
    const bus = newBus();
    const api = jobApi((jobid) => ({ jobid, status: 'progress', updated: String(api.counter.polls) }));
    const b = followers(bus, api.upstream, { owner: 'B', leaseMs: 60_000 });
    const jobId = 'j1:stale-seq';
    await bus.append(jobId, { seq: 0, data: '{"event":"initialized","seq":0}', terminal: false });
    expect(await b.ensure(jobId)).toBe('following');
    await until(
      () => bus.state(jobId),
      (state) => (state?.lastSeq ?? 0) >= 1,
    );
    // Another writer (an owner still reading the stream) jumps ahead.
    await bus.append(jobId, { seq: 50, data: '{"event":"midjourney_progress","seq":50}', terminal: false });
    await until(
      () => bus.state(jobId),
      (state) => (state?.lastSeq ?? 0) > 50,
    );
    await b.close();
  });
});
