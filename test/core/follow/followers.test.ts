import { describe, expect, it } from 'vitest';
import { createFollowers } from '../../../src/core/follow/followers.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import type { UpstreamClient } from '../../../src/core/ingest/upstream.ts';
import { manualClock } from '../../support/clock.ts';
import { jobApiClient, midjourneyFollow } from '../../support/job-api.ts';
import { until } from '../../support/until.ts';

/** One turn of the event loop: a bus round trip that is not instant, whatever the machine's speed. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An upstream whose job is always running, a little further on each poll. */
function runningUpstream() {
  const counter = { polls: 0 };
  const upstream: UpstreamClient = jobApiClient(async (jobid) => {
    counter.polls++;
    return {
      status: 200,
      body: { jobid, status: 'progress', updated: String(counter.polls), response: { progress_percent: counter.polls } },
    };
  });
  return { upstream, counter };
}

describe('followers', () => {
  it('stops polling a job once another instance holds its lease', async () => {
    const clock = manualClock();
    const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000, now: clock.now });
    const { upstream, counter } = runningUpstream();
    const options = { bus, upstream, logger: silentLogger, leaseMs: 150, pollIntervalMs: 10, jobDeadlineMs: 60_000, clock };
    const followers = createFollowers({ ...midjourneyFollow, ...options, owner: 'A' });
    expect(await followers.ensure('j')).toBe('following');
    await clock.advanceUntil(() => counter.polls >= 3, 10);

    // A's lease lapsed (say Redis was unreachable for longer than LEASE_MS) and B took it.
    await bus.releaseLease('j', 'A');
    expect(await bus.acquireLease('j', 'B', 60_000)).toBe(true);
    await clock.advanceUntil(() => followers.active().length === 0, 10);
    const polls = counter.polls;
    await clock.advance(100);
    expect(counter.polls - polls).toBeLessThanOrEqual(1);
    expect(await followers.ensure('j')).toBe('followed-elsewhere');
    await followers.close();
  });

  it('takes a lapsed lease back when nobody else took it, and keeps polling', async () => {
    const clock = manualClock();
    const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000, now: clock.now });
    const { upstream, counter } = runningUpstream();
    const followers = createFollowers({
      ...midjourneyFollow,
      bus,
      upstream,
      logger: silentLogger,
      owner: 'A',
      leaseMs: 150,
      pollIntervalMs: 10,
      jobDeadlineMs: 60_000,
      clock,
    });
    expect(await followers.ensure('j')).toBe('following');
    await bus.releaseLease('j', 'A');
    await clock.advance(200);
    expect(await bus.acquireLease('j', 'B', 60_000)).toBe(false);
    const polls = counter.polls;
    await clock.advanceUntil(() => counter.polls > polls + 2, 10);
    expect(followers.active()).toEqual(['j']);
    await followers.close();
  });
});

describe('followers reading a stream', () => {
  it('sends a burst to the bus in batches, in order, once each, and finishes on the terminal event', async () => {
    const memory = createMemoryBus({ historyMaxEvents: 1000, historyTtlMs: 60_000 });
    const calls: number[] = [];
    // A bus with a slow round trip, so events pile up behind the first append.
    const slow = {
      ...memory,
      append: async (jobId: string, input: Parameters<typeof memory.append>[1]) => {
        calls.push(1);
        await nextTurn();
        return memory.append(jobId, input);
      },
      appendMany: async (jobId: string, inputs: Parameters<typeof memory.append>[1][]) => {
        calls.push(inputs.length);
        await nextTurn();
        return memory.appendMany!(jobId, inputs);
      },
    };
    const { upstream } = runningUpstream();
    const followers = createFollowers({
      ...midjourneyFollow,
      bus: slow,
      upstream,
      logger: silentLogger,
      owner: 'A',
      leaseMs: 1000,
      pollIntervalMs: 10_000,
      jobDeadlineMs: 60_000,
    });
    const jobId = 'j1:burst';
    const lines = [`data: {"event":"initialized","jobId":"${jobId}","seq":0,"ts":"x"}\n\n`];
    for (let seq = 1; seq < 200; seq++)
      lines.push(`data: {"event":"midjourney_progress","job":{"jobid":"${jobId}"},"seq":${seq},"ts":"x"}\n\n`);
    lines.push(`data: {"event":"midjourney_completed","job":{"jobid":"${jobId}","status":"completed"},"seq":200,"ts":"x"}\n\n`);
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode(lines[0] as string));
        await nextTurn();
        for (let i = 1; i < lines.length; i += 40) controller.enqueue(encoder.encode(lines.slice(i, i + 40).join('')));
        controller.close();
      },
    });
    expect(await followers.followStream(body)).toBe(jobId);
    await until(followers.active, (active) => active.length === 0);
    const stored = await memory.history(jobId, -1);
    expect(stored.map((e) => e.seq)).toEqual([...Array(201).keys()]);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(201);
    expect(calls.length).toBeLessThan(40);
    expect((await memory.state(jobId))?.terminalSeq).toBe(200);
    await followers.close();
  });

  it('numbers a takeover above what a local hub holds when the bus lost the job (no silent restart at 0)', async () => {
    const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
    const { upstream, counter } = runningUpstream();
    const followers = createFollowers({
      ...midjourneyFollow,
      bus,
      upstream,
      logger: silentLogger,
      owner: 'A',
      leaseMs: 1000,
      pollIntervalMs: 10,
      jobDeadlineMs: 60_000,
    });
    // The hub saw seqs up to 7; Redis restarted empty, so the bus knows nothing of the job.
    expect(await followers.ensure('j', 7)).toBe('following');
    await until(
      () => counter.polls,
      (polls) => polls >= 2,
    );
    const stored = await bus.history('j', -1);
    expect(stored[0]).toMatchObject({ seq: 8, prev: 7 });
    expect(stored.every((e) => e.seq > 7)).toBe(true);
    await followers.close();
  });
});
