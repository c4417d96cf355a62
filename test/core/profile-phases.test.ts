import { describe, expect, it } from 'vitest';
import { type JobEvent, isRecord } from '../../src/core/ingest/event.ts';
import type { UpstreamProfile } from '../../src/core/profile.ts';
import type { UpstreamClient } from '../../src/core/ingest/upstream.ts';
import { vendorTable } from '../support/vendor-table.ts';
import { memoryRelay } from '../support/memory-relay.ts';
import { until } from '../support/until.ts';

// Made-up vendors for the two other ways a job can run: a create that answers JSON and a
// status stream opened separately with a result fetched once at the end (as fal's queue), and a
// stream that numbers its events and resumes after a drop (as OpenAI's background mode).

const sse = (...events: object[]) =>
  new Response(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')).body as ReadableStream<Uint8Array>;

function parse(data: string): Record<string, unknown> | string {
  try {
    const value: unknown = JSON.parse(data);
    return isRecord(value) ? value : 'not an object';
  } catch {
    return 'not JSON';
  }
}

const base: Omit<UpstreamProfile, 'name' | 'createRequest' | 'toEvent'> = {
  authorization: (key) => ({ Authorization: `Key ${key}` }),
  pollRequest: (jobId) => ({ method: 'GET', path: `/jobs/${jobId}` }),
  pollOutcome: () => ({ kind: 'retry' }),
  statusKey: (job) => String(job.status),
  statusEvent: (seq, job) => ({ seq, type: 'status', data: JSON.stringify({ status: job.status }), terminal: false, job }),
  createdAt: () => undefined,
  terminalEvent: (seq, reason) => ({ seq, type: 'failed', data: JSON.stringify({ status: 'FAILED', reason }), terminal: true }),
};

const relayOf = (profile: UpstreamProfile, upstream: UpstreamClient) => memoryRelay(profile, upstream);

async function history(relay: ReturnType<typeof relayOf>, jobId: string): Promise<string[]> {
  await until(async () => (await relay.stored.state(jobId))?.terminalSeq != null, { timeoutMs: 5000, intervalMs: 10 }).catch(
    () => undefined,
  );
  return (await relay.stored.history(jobId, -1)).map((event) => `${event.seq} ${event.data}`);
}

describe('a create that answers JSON naming the job, its stream opened separately', () => {
  const queue: UpstreamProfile = {
    ...base,
    name: 'queue',
    createRequest: (kind, body) => ({ method: 'POST', path: `/${kind}`, body }),
    startedJobId: (reply) => (isRecord(reply.body) && typeof reply.body.request_id === 'string' ? reply.body.request_id : undefined),
    streamRequest: (jobId) => ({ method: 'GET', path: `/jobs/${jobId}/status/stream`, stream: true }),
    toEvent(message, nextSeq) {
      const parsed = parse(message.data);
      if (typeof parsed === 'string') return parsed;
      const event: JobEvent = { seq: nextSeq, type: String(parsed.status), data: message.data, terminal: parsed.status === 'COMPLETED' };
      return event;
    },
    resultRequest: (jobId) => ({ method: 'GET', path: `/jobs/${jobId}` }),
    withResult: (terminal, result) => ({
      ...terminal,
      data: JSON.stringify({ ...(JSON.parse(terminal.data) as object), result: result.body }),
    }),
  };

  it('follows the job from its id, numbers its events, reopens a dropped stream, and keeps the result fetched once', async () => {
    let opened = 0;
    const { client, calls } = vendorTable({
      'POST /model': () => ({ kind: 'reply', reply: { status: 200, body: { request_id: 'req-1', status: 'IN_QUEUE' } } }),
      // The first stream drops after one event; the reopened one runs to COMPLETED.
      'GET /jobs/req-1/status/stream': () =>
        ++opened === 1
          ? { kind: 'stream', body: sse({ status: 'IN_QUEUE' }) }
          : { kind: 'stream', body: sse({ status: 'IN_PROGRESS' }, { status: 'COMPLETED' }) },
      'GET /jobs/req-1': () => ({ kind: 'reply', reply: { status: 200, body: { images: ['a.png'] } } }),
    });
    const relay = relayOf(queue, client);
    const outcome = await relay.create('model', { prompt: 'x' });
    expect(outcome).toEqual({ kind: 'job', jobId: 'req-1', reply: { status: 200, body: { request_id: 'req-1', status: 'IN_QUEUE' } } });
    expect(await history(relay, 'req-1')).toEqual([
      '0 {"status":"IN_QUEUE"}',
      '1 {"status":"IN_PROGRESS"}',
      '2 {"status":"COMPLETED","result":{"images":["a.png"]}}',
    ]);
    expect(calls.filter((call) => call === 'GET /jobs/req-1')).toHaveLength(1);
    await relay.close();
  });

  it('skips what a reopened stream repeats (profile.unseenPart): no event and no seq for it', async () => {
    let opened = 0;
    const withJob = (data: string, seq: number): JobEvent | string => {
      const parsed = parse(data);
      if (typeof parsed === 'string') return parsed;
      return { seq, type: String(parsed.status), data, terminal: parsed.status === 'COMPLETED', job: parsed };
    };
    const repeating: UpstreamProfile = {
      ...queue,
      name: 'repeating',
      toEvent: (message, nextSeq) => withJob(message.data, nextSeq),
      statusKey: (job) => String(job.status),
      unseenPart: (event, last) => (!event.terminal && event.job?.status === last?.status ? undefined : event),
    };
    const { client } = vendorTable({
      'POST /model': () => ({ kind: 'reply', reply: { status: 200, body: { request_id: 'req-2' } } }),
      // The reopened stream starts with the status the first one ended on.
      'GET /jobs/req-2/status/stream': () =>
        ++opened === 1
          ? { kind: 'stream', body: sse({ status: 'IN_QUEUE' }, { status: 'IN_PROGRESS' }) }
          : { kind: 'stream', body: sse({ status: 'IN_PROGRESS' }, { status: 'COMPLETED' }) },
      'GET /jobs/req-2': () => ({ kind: 'reply', reply: { status: 200, body: {} } }),
    });
    const relay = relayOf(repeating, client);
    await relay.create('model', {});
    expect(await history(relay, 'req-2')).toEqual([
      '0 {"status":"IN_QUEUE"}',
      '1 {"status":"IN_PROGRESS"}',
      '2 {"status":"COMPLETED","result":{}}',
    ]);
    await relay.close();
  });

  it('passes a refusal through as the vendor answered it', async () => {
    const { client } = vendorTable({ 'POST /model': () => ({ kind: 'reply', reply: { status: 422, body: { detail: 'bad' } } }) });
    const relay = relayOf(queue, client);
    expect(await relay.create('model', {})).toEqual({ kind: 'reply', reply: { status: 422, body: { detail: 'bad' } } });
    await relay.close();
  });
});

describe('a stream that numbers its events and resumes after a drop', () => {
  const numbered: UpstreamProfile = {
    ...base,
    name: 'numbered',
    createRequest: () => ({ method: 'POST', path: '/responses', stream: true }),
    resumeRequest: (jobId, after) => ({ method: 'GET', path: `/responses/${jobId}?stream=true&starting_after=${after}`, stream: true }),
    toEvent(message) {
      const parsed = parse(message.data);
      if (typeof parsed === 'string') return parsed;
      if (typeof parsed.sequence_number !== 'number') return 'no sequence_number';
      const event: JobEvent = {
        seq: parsed.sequence_number,
        type: String(parsed.type),
        data: message.data,
        terminal: parsed.type === 'done',
      };
      if (typeof parsed.id === 'string') event.jobId = parsed.id;
      return event;
    },
  };

  it('resumes after the last stored event, and polls only when the vendor says resuming is not possible', async () => {
    const { client, calls } = vendorTable({
      'POST /responses': () => ({
        kind: 'stream',
        body: sse({ type: 'created', id: 'r1', sequence_number: 0 }, { type: 'delta', sequence_number: 1 }),
      }),
      'GET /responses/r1?stream=true&starting_after=1': () => ({
        kind: 'stream',
        body: sse({ type: 'delta', sequence_number: 2 }, { type: 'done', sequence_number: 3 }),
      }),
    });
    const relay = relayOf(numbered, client);
    expect(await relay.create('responses', {})).toEqual({ kind: 'job', jobId: 'r1' });
    expect((await history(relay, 'r1')).map((line) => Number(line.split(' ')[0]))).toEqual([0, 1, 2, 3]);
    expect(calls).toEqual(['POST /responses', 'GET /responses/r1?stream=true&starting_after=1']);
    expect(calls).not.toContain('GET /jobs/r1');
    await relay.close();
  });
});
