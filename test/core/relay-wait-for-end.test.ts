import { afterEach, describe, expect, it } from 'vitest';
import { isRecord } from '../../src/core/event.ts';
import type { UpstreamProfile } from '../../src/core/profile.ts';
import type { Relay } from '../../src/core/relay.ts';
import type { UpstreamClient } from '../../src/core/upstream.ts';
import { memoryRelay } from '../support/memory-relay.ts';

// Relay.waitForEnd: a blocking create's wait for the job's terminal event, through the hub (no polling of the bus).

/** A made-up vendor whose create answers a stream of `{seq, id, status}` events; `done` is terminal. */
const profile: UpstreamProfile = {
  name: 'acme',
  authorization: () => ({}),
  createRequest: () => ({ method: 'POST', path: '/jobs', stream: true }),
  toEvent(message) {
    const parsed: unknown = JSON.parse(message.data);
    if (!isRecord(parsed) || typeof parsed.seq !== 'number') return 'bad';
    const { seq: _seq, ...job } = parsed;
    return {
      seq: parsed.seq,
      type: String(parsed.status),
      data: message.data,
      terminal: parsed.status === 'done',
      jobId: String(parsed.id),
      job,
    };
  },
  pollRequest: (id) => ({ method: 'GET', path: `/jobs/${id}` }),
  pollOutcome: () => ({ kind: 'retry' }),
  statusKey: (job) => String(job.status),
  statusEvent: (seq, job) => ({ seq, type: 'status', data: JSON.stringify({ seq, ...job }), terminal: false, job }),
  createdAt: () => undefined,
  terminalEvent: (seq, reason, _now, { jobId }) => {
    const job = { id: jobId, status: 'done', error: reason };
    return { seq, type: 'done', data: JSON.stringify({ seq, ...job }), terminal: true, job };
  },
  cancelRequest: (id) => ({ method: 'DELETE', path: `/jobs/${id}` }),
};

/** An upstream whose one create stream the test writes to. */
function controlledUpstream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  const upstream: UpstreamClient = {
    send: async () => ({ status: 503, body: {} }),
    open: async () => ({ kind: 'stream', body }),
  };
  const encoder = new TextEncoder();
  return {
    upstream,
    emit: (event: object) => controller.enqueue(encoder.encode(`data: ${JSON.stringify(event)}\n\n`)),
  };
}

let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

function start(jobDeadlineMs = 60_000) {
  const vendor = controlledUpstream();
  relay = memoryRelay(profile, vendor.upstream, { jobDeadlineMs });
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
    const { relay, emit } = start(1000);
    emit({ seq: 0, id: 'j3', status: 'queued' });
    await relay.create('x', {});
    expect(await relay.waitForEnd('j3')).toEqual({ id: 'j3', status: 'done', error: 'relay gave up: job exceeded its deadline' });
  });

  it('ends the wait when the relay closes', async () => {
    const { relay, emit } = start();
    emit({ seq: 0, id: 'j4', status: 'queued' });
    await relay.create('x', {});
    const waiting = relay.waitForEnd('j4');
    await expect.poll(() => relay.hubs.busy().length).toBe(1);
    await relay.close();
    expect(await waiting).toEqual({ id: 'j4', status: 'queued' });
  });
});
