import { describe, expect, it } from 'vitest';
import { isRecord } from '../../src/core/ingest/event.ts';
import type { UpstreamProfile } from '../../src/core/profile.ts';
import { memoryRelay } from '../support/memory-relay.ts';
import { until } from '../support/until.ts';
import { vendorTable } from '../support/vendor-table.ts';

// A made-up vendor whose create answers the job object (stored as the job's first event), naming
// in it where the job's stream is; its stream cannot be reopened without repeating itself, so
// after a drop the job is polled (as Replicate's predictions).

const sse = (...lines: string[]) => new Response(lines.map((line) => `${line}\n\n`).join('')).body as ReadableStream<Uint8Array>;
const record = (data: string) => JSON.parse(data) as Record<string, unknown>;

const once: UpstreamProfile = {
  name: 'once',
  authorization: (key) => ({ Authorization: `Bearer ${key}` }),
  createRequest: () => ({ method: 'POST', path: '/jobs' }),
  startedJobId: (reply) => (isRecord(reply.body) && typeof reply.body.id === 'string' ? reply.body.id : undefined),
  startedEvent: (reply) =>
    isRecord(reply.body) ? { seq: 0, type: 'created', data: JSON.stringify(reply.body), terminal: false, job: reply.body } : undefined,
  // Opened only while nothing but the create's answer is stored.
  streamRequest: (_jobId, from) =>
    from && from.lastSeq <= 0 && typeof from.last?.stream === 'string'
      ? { method: 'GET', path: from.last.stream, stream: true }
      : undefined,
  toEvent: (message, nextSeq) => ({ seq: nextSeq, type: 'piece', data: message.data, terminal: message.data === 'end' }),
  pollRequest: (jobId) => ({ method: 'GET', path: `/jobs/${jobId}` }),
  pollOutcome: (reply) =>
    isRecord(reply.body) ? { kind: 'status', job: reply.body, terminal: reply.body.status === 'done' } : { kind: 'retry' },
  statusKey: (job) => String(job.status),
  statusEvent: (seq, job) => ({ seq, type: 'status', data: JSON.stringify(job), terminal: job.status === 'done', job }),
  createdAt: () => undefined,
  terminalEvent: (seq, reason) => ({ seq, type: 'failed', data: reason, terminal: true }),
};

describe('a create whose answer is the job’s first event, its stream named in it and never reopened', () => {
  it('stores the answer as seq 0, reads the stream it names, and polls to the end after a drop', async () => {
    let polls = 0;
    const { client, calls } = vendorTable({
      'POST /jobs': () => ({ kind: 'reply', reply: { status: 201, body: { id: 'j1', status: 'starting', stream: '/streams/j1' } } }),
      // The stream drops after two pieces.
      'GET /streams/j1': () => ({ kind: 'stream', body: sse('data: a', 'data: b') }),
      'GET /jobs/j1': () => ({ kind: 'reply', reply: { status: 200, body: { id: 'j1', status: ++polls < 2 ? 'running' : 'done' } } }),
    });
    const relay = memoryRelay(once, client, { pollIntervalMs: 10 });
    expect(await relay.create('job', {})).toMatchObject({ kind: 'job', jobId: 'j1' });
    await until(async () => (await relay.stored.state('j1'))?.terminalSeq != null, { timeoutMs: 5000, intervalMs: 10 });
    const stored = (await relay.stored.history('j1', -1)).map((event) => `${event.seq} ${event.data}`);
    expect(stored).toEqual([
      '0 {"id":"j1","status":"starting","stream":"/streams/j1"}',
      '1 a',
      '2 b',
      '3 {"id":"j1","status":"running"}',
      '4 {"id":"j1","status":"done"}',
    ]);
    expect(calls.filter((call) => call === 'GET /streams/j1')).toHaveLength(1);
    expect(record((await relay.stored.state('j1'))?.snapshot ?? '{}').status).toBe('done');
    await relay.close();
  });
});
