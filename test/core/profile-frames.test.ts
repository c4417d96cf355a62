import { describe, expect, it } from 'vitest';
import { isRecord } from '../../src/core/ingest/event.ts';
import type { UpstreamProfile } from '../../src/core/profile.ts';
import type { UpstreamClient } from '../../src/core/ingest/upstream.ts';
import { subscriptionResponse } from '../../src/http/subscription-response.ts';
import { memoryRelay } from '../support/memory-relay.ts';
import { until } from '../support/until.ts';

// A made-up vendor, to prove the profile interface without any real one: its events carry no
// number (the gateway assigns seqs), name their type in `event:` lines, and its SDK wants
// `event:` names, no gap notices and no 204 on its drop-in path.
const acme: UpstreamProfile = {
  name: 'acme',
  authorization: (key) => ({ Authorization: `Key ${key}` }),
  createRequest: (kind, body) => ({ method: 'POST', path: `/run/${kind}`, body, stream: true }),
  toEvent(message, nextSeq) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.data);
    } catch {
      return 'not JSON';
    }
    if (!isRecord(parsed) || typeof parsed.type !== 'string') return 'no type';
    const terminal = parsed.type === 'acme.done';
    return {
      seq: nextSeq,
      type: parsed.type,
      data: message.data,
      terminal,
      ...(typeof parsed.id === 'string' ? { jobId: parsed.id } : {}),
    };
  },
  pollRequest: (jobId) => ({ method: 'GET', path: `/run/${jobId}` }),
  pollOutcome: () => ({ kind: 'retry' }),
  statusKey: (job) => String(job.state),
  statusEvent: (seq, job) => ({ seq, type: 'acme.status', data: JSON.stringify({ type: 'acme.status', job }), terminal: false, job }),
  createdAt: () => undefined,
  terminalEvent: (seq, reason) => ({ seq, type: 'acme.done', data: JSON.stringify({ type: 'acme.done', error: reason }), terminal: true }),
  dropInFrames: {
    eventName: (data) => (JSON.parse(data) as { type: string }).type,
    noGapFrames: true,
    emptyWhenFinished: true,
  },
};

function upstreamOf(sse: string): UpstreamClient {
  return {
    send: async () => ({ status: 500, body: {} }),
    open: async () => ({ kind: 'stream', body: new Response(sse).body as ReadableStream<Uint8Array> }),
  };
}

const relayFor = (sse: string, historyMaxEvents = 100) => memoryRelay(acme, upstreamOf(sse), { historyMaxEvents, pollIntervalMs: 1000 });

const stream = [
  'event: acme.started\ndata: {"type":"acme.started","id":"run-1"}\n\n',
  'event: acme.progress\ndata: {"type":"acme.progress","n":1}\n\n',
  'event: acme.progress\ndata: {"type":"acme.progress","n":2}\n\n',
  'event: acme.done\ndata: {"type":"acme.done","ok":true}\n\n',
].join('');

async function read(relay: ReturnType<typeof relayFor>, since: number, dropIn: boolean) {
  const outcome = await relay.subscribe('run-1', since);
  const style = dropIn ? acme.dropInFrames : undefined;
  const response = subscriptionResponse(outcome, since, { retryMs: 1000, maxQueuedBytes: 1 << 20, ...(style ? { style } : {}) });
  return { status: response.status, text: await response.text() };
}

describe('a profile whose events carry no number, with its own drop-in frame style', () => {
  it('gets gateway-assigned seqs, its job id from its mapping, and each style its own frames', async () => {
    const relay = relayFor(stream);
    expect(await relay.create('model', {})).toEqual({ kind: 'job', jobId: 'run-1' });
    const uniform = await read(relay, -1, false);
    expect(uniform.status).toBe(200);
    expect(uniform.text).toBe(
      'retry: 1000\n\n' +
        'id: 0\ndata: {"type":"acme.started","id":"run-1"}\n\n' +
        'id: 1\ndata: {"type":"acme.progress","n":1}\n\n' +
        'id: 2\ndata: {"type":"acme.progress","n":2}\n\n' +
        'id: 3\ndata: {"type":"acme.done","ok":true}\n\n',
    );
    const dropIn = await read(relay, 1, true);
    expect(dropIn.text).toBe(
      'retry: 1000\n\n' +
        'id: 2\nevent: acme.progress\ndata: {"type":"acme.progress","n":2}\n\n' +
        'id: 3\nevent: acme.done\ndata: {"type":"acme.done","ok":true}\n\n',
    );
    // After the terminal event: 204 on the uniform path, an empty 200 stream in the drop-in style.
    expect((await read(relay, 3, false)).status).toBe(204);
    expect(await read(relay, 3, true)).toMatchObject({ status: 200, text: '' });
    await relay.close();
  });

  it('announces trimmed history with a gap frame on the uniform path only', async () => {
    const relay = relayFor(stream, 2);
    await relay.create('model', {});
    // The whole job is stored (and trimmed to 2 events) before anyone subscribes.
    await until(async () => (await relay.stored.state('run-1'))?.terminalSeq != null, { timeoutMs: 5000, intervalMs: 10 }).catch(
      () => undefined,
    );
    const uniform = await read(relay, -1, false);
    expect(uniform.text).toContain('event: gap\ndata: {"from":0,"to":1}\n\n');
    const dropIn = await read(relay, -1, true);
    expect(dropIn.text).not.toContain('gap');
    expect(dropIn.text).toBe(
      'retry: 1000\n\n' +
        'id: 2\nevent: acme.progress\ndata: {"type":"acme.progress","n":2}\n\n' +
        'id: 3\nevent: acme.done\ndata: {"type":"acme.done","ok":true}\n\n',
    );
    await relay.close();
  });
});
