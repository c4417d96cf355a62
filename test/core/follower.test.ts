import { describe, expect, it } from 'vitest';
import { createFollowers } from '../../src/core/follower.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createMemoryBus } from '../../src/core/memory-bus.ts';
import type { UpstreamClient } from '../../src/core/upstream.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** An upstream whose job is always running, a little further on each poll. */
function runningUpstream() {
  const counter = { polls: 0 };
  const unused = async () => {
    throw new Error('not used');
  };
  const upstream: UpstreamClient = {
    createJob: unused,
    listJobs: unused,
    deleteJob: unused,
    getJob: async (jobid) => {
      counter.polls++;
      return {
        status: 200,
        body: { jobid, status: 'progress', updated: String(counter.polls), response: { progress_percent: counter.polls } },
      };
    },
  };
  return { upstream, counter };
}

describe('followers', () => {
  it('stops polling a job once another instance holds its lease', async () => {
    const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
    const { upstream, counter } = runningUpstream();
    const options = { bus, upstream, logger: silentLogger, leaseMs: 150, pollIntervalMs: 10, jobDeadlineMs: 60_000 };
    const followers = createFollowers({ ...options, owner: 'A' });
    expect(await followers.ensure('j')).toBe('following');
    await until(() => counter.polls >= 3);

    // A's lease lapsed (say Redis was unreachable for longer than LEASE_MS) and B took it.
    await bus.releaseLease('j', 'A');
    expect(await bus.acquireLease('j', 'B', 60_000)).toBe(true);
    await until(() => followers.active().length === 0);
    const polls = counter.polls;
    await sleep(100);
    expect(counter.polls - polls).toBeLessThanOrEqual(1);
    expect(await followers.ensure('j')).toBe('followed-elsewhere');
    await followers.close();
  });

  it('takes a lapsed lease back when nobody else took it, and keeps polling', async () => {
    const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
    const { upstream, counter } = runningUpstream();
    const followers = createFollowers({
      bus,
      upstream,
      logger: silentLogger,
      owner: 'A',
      leaseMs: 150,
      pollIntervalMs: 10,
      jobDeadlineMs: 60_000,
    });
    expect(await followers.ensure('j')).toBe('following');
    await bus.releaseLease('j', 'A');
    await sleep(200);
    expect(await bus.acquireLease('j', 'B', 60_000)).toBe(false);
    const polls = counter.polls;
    await until(() => counter.polls > polls + 2);
    expect(followers.active()).toEqual(['j']);
    await followers.close();
  });
});
