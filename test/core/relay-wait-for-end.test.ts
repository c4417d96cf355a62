import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../../src/core/relay.ts';
import { memoryRelay } from '../support/memory-relay.ts';
import { acmeProfile, controlledUpstream } from '../support/acme-stream.ts';
import { type ManualClock, manualClock } from '../support/clock.ts';

// Relay.waitForEnd: a blocking create's wait for the job's terminal event, through the hub (no polling of the bus).

let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

/** A relay whose jobs end at `jobDeadlineMs`, on `clock` (default: the system's). */
function start(jobDeadlineMs = 60_000, clock?: ManualClock) {
  const vendor = controlledUpstream();
  relay = memoryRelay(acmeProfile, vendor.upstream, { jobDeadlineMs, ...(clock ? { clock } : {}) });
  return { relay, ...vendor };
}

describe('Relay.waitForEnd', () => {
  it('resolves with the job object of the terminal event once it arrives, and at once for a job already over', async () => {
    const { relay, emit } = start();
    emit({ seq: 0, id: 'j1', status: 'queued' });
    const outcome = await relay.create('x', {});
    expect(outcome).toEqual({ kind: 'job', jobId: 'j1' });
    let settled = false;
    const waiting = relay.waitForEnd('j1').then((job) => {
      settled = true;
      return job;
    });
    emit({ seq: 1, id: 'j1', status: 'running' });
    // The running event is stored and seen, and the wait goes on.
    await expect.poll(async () => (await relay.snapshot('j1'))?.status).toBe('running');
    expect(settled).toBe(false);
    emit({ seq: 2, id: 'j1', status: 'done' });
    expect(await waiting).toEqual({ id: 'j1', status: 'done' });
    expect(await relay.waitForEnd('j1')).toEqual({ id: 'j1', status: 'done' });
  });

  it('gives up with the latest job object when its time runs out or the caller leaves', async () => {
    const { relay, emit } = start();
    emit({ seq: 0, id: 'j2', status: 'queued' });
    await relay.create('x', {});
    expect(await relay.waitForEnd('j2', { timeoutMs: 50 })).toEqual({ id: 'j2', status: 'queued' });
    const left = new AbortController();
    const waiting = relay.waitForEnd('j2', { signal: left.signal });
    left.abort();
    expect(await waiting).toEqual({ id: 'j2', status: 'queued' });
  });

  it('is bounded by the job deadline: the deadline event ends the wait, naming the job', async () => {
    const clock = manualClock();
    const { relay, emit } = start(1000, clock);
    emit({ seq: 0, id: 'j3', status: 'queued' });
    await relay.create('x', {});
    let ended: Record<string, unknown> | null | undefined;
    const waiting = relay.waitForEnd('j3').then((job) => {
      ended = job;
      return job;
    });
    // Just short of the deadline the wait goes on; at the deadline it ends.
    await clock.advance(999);
    expect(ended).toBeUndefined();
    await clock.advanceUntil(() => ended !== undefined, 1, 1000);
    expect(await waiting).toEqual({ id: 'j3', status: 'done', error: 'relay gave up: job exceeded its deadline' });
  });

  it('ends the wait when the relay closes', async () => {
    const { relay, emit } = start();
    emit({ seq: 0, id: 'j4', status: 'queued' });
    await relay.create('x', {});
    const waiting = relay.waitForEnd('j4');
    await expect.poll(() => relay.counts().waiters > 0).toBe(true);
    await relay.close();
    expect(await waiting).toEqual({ id: 'j4', status: 'queued' });
  });
});
