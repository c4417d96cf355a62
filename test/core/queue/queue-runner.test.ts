import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../src/core/errors.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import type { CreateQueue } from '../../../src/core/queue/create-queue.ts';
import { createMemoryQueue } from '../../../src/core/queue/memory-queue.ts';
import { type QueueTurn, createQueueRunner } from '../../../src/core/queue/queue-runner.ts';
import { until } from '../../support/until.ts';

const runnerOn = (queue: CreateQueue, maxWaitMs = 60_000) =>
  createQueueRunner({ queue, entryTtlMs: 5000, pollMs: 10, maxWaitMs, logger: silentLogger });

/** An upstream with `slots` places: attempts beyond them are busy until a place is freed. */
function upstream(slots: number) {
  const started: string[] = [];
  let free = slots;
  return {
    started,
    release: () => void free++,
    turn(name: string, signal = new AbortController().signal, positions: number[] = []): QueueTurn<string> {
      return {
        signal,
        onWait: (position) => void positions.push(position),
        attempt: async () => {
          if (free === 0) return { busy: true };
          free--;
          started.push(name);
          return { busy: false, value: name };
        },
      };
    },
  };
}

/** The error a promise rejects with (fails the test if it resolves). */
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: RelayError) => err,
  );

describe('queue runner', () => {
  it('starts jobs in arrival order as capacity frees, reporting positions', async () => {
    const queue = createMemoryQueue({ max: 10 });
    const runner = runnerOn(queue);
    const up = upstream(1);
    const positions: number[][] = [];
    const runs: Promise<string>[] = [];
    for (let i = 0; i < 5; i++) {
      positions.push([]);
      runs.push(runner.run(up.turn(`job-${i}`, undefined, positions[i])));
      await until(async () => (await queue.size()) === i + 1 || up.started.length > 0);
    }
    await until(() => up.started.length === 1);
    for (let i = 1; i < 5; i++) {
      await until(async () => (await queue.size()) === 4 - i + 1);
      up.release();
      await until(() => up.started.length === i + 1);
    }
    expect(await Promise.all(runs)).toEqual(['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
    expect(up.started).toEqual(['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
    expect(positions[0]).toEqual([]);
    expect(positions[4]?.[0]).toBe(4);
    expect(positions[4]?.at(-1)).toBe(1);
    expect(await queue.size()).toBe(0);
  });

  it('a caller that leaves loses its place and starts nothing; the one behind moves up', async () => {
    const queue = createMemoryQueue({ max: 10 });
    const runner = runnerOn(queue);
    const up = upstream(0);
    const left = new AbortController();
    const first = runner.run(up.turn('first', left.signal));
    const second = runner.run(up.turn('second'));
    await until(async () => (await queue.size()) === 2);
    left.abort();
    await expect(first).rejects.toBeInstanceOf(RelayError);
    expect(await queue.size()).toBe(1);
    up.release();
    expect(await second).toBe('second');
    expect(up.started).toEqual(['second']);
  });

  it('answers queue_full when the bound is reached, queue_timeout after the longest wait', async () => {
    const queue = createMemoryQueue({ max: 1 });
    const up = upstream(0);
    const waiting = runnerOn(queue, 2000).run(up.turn('a'));
    await until(async () => (await queue.size()) === 1);
    const full = await rejection(runnerOn(queue).run(up.turn('b')));
    expect([full.code, full.status, full.retryAfterS]).toEqual(['queue_full', 503, 5]);
    const timedOut = await rejection(waiting);
    expect([timedOut.code, timedOut.status]).toEqual(['queue_timeout', 503]);
    expect(await queue.size()).toBe(0);
  });

  it('joins again at the tail when the store lost its entry', async () => {
    const queue = createMemoryQueue({ max: 10 });
    const up = upstream(0);
    const run = runnerOn(queue).run(up.turn('a'));
    await until(async () => (await queue.size()) === 1);
    await queue.close();
    await until(async () => (await queue.size()) === 1);
    up.release();
    expect(await run).toBe('a');
  });
});
