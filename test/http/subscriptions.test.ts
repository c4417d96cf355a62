import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../../src/core/relay.ts';
import { type SinkInit, openStreamSink } from '../../src/http/subscription-response.ts';
import { createLocalSubscriptions } from '../../src/http/subscriptions.ts';
import { acmeProfile, controlledUpstream } from '../support/acme-stream.ts';
import { memoryRelay } from '../support/memory-relay.ts';

// The runtime port as Node builds it: a job's stream from this process's hubs, through the
// runtime's sink for the request's context, its subscriber slot freed on every path.

let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

/** A relay whose job `j1` sent `queued` and `running` (and `done` when `finished`). */
async function relayWithJob(finished: boolean): Promise<Relay> {
  const { upstream, emit } = controlledUpstream();
  relay = memoryRelay(acmeProfile, upstream);
  emit({ seq: 0, id: 'j1', status: 'queued' });
  emit({ seq: 1, id: 'j1', status: 'running' });
  if (finished) emit({ seq: 2, id: 'j1', status: 'done' });
  await relay.create('x', {});
  await expect.poll(async () => (await relay?.snapshot('j1'))?.status, { timeout: 10_000 }).toBe(finished ? 'done' : 'running');
  return relay;
}

/** A Node-like runtime: its request context names the request; its sink is the Web stream, and it notes whom it served. */
function runtime() {
  const served: string[] = [];
  const openSink = (init: SinkInit, context: { request: string }) => {
    served.push(context.request);
    return openStreamSink(init);
  };
  return { served, openSink };
}

async function readUntil(body: ReadableStream<Uint8Array>, text: string): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let read = '';
  while (!read.includes(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    read += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return read;
}

describe('createLocalSubscriptions', () => {
  it('serves the events after the resume point through the runtime sink of this request, and frees the slot once the client leaves', async () => {
    const r = await relayWithJob(false);
    const { served, openSink } = runtime();
    const subscriptions = createLocalSubscriptions({ relays: new Map([['acme', r]]), retryMs: 1500, maxReplay: 100, openSink });
    let closed = 0;
    const response = await subscriptions.open({ profile: 'acme', jobId: 'j1' }, 0, {
      headers: { 'X-Request-Id': 'r-1' },
      onClose: () => void closed++,
      context: { request: 'r-1' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('X-Request-Id')).toBe('r-1');
    expect(response.headers.get('Content-Type')).toContain('text/event-stream');
    expect(served).toEqual(['r-1']);
    const text = await readUntil(response.body as ReadableStream<Uint8Array>, 'id: 1\n');
    expect(text.startsWith('retry: 1500\n\n')).toBe(true);
    expect(text).not.toContain('id: 0\n');
    expect(text).toContain('id: 1\n');
    expect(closed).toBe(1);
    expect(r.counts().subscribers).toBe(0);
  });

  it('answers 204 for a client that has the whole finished job, the slot freed at once, no sink opened', async () => {
    const r = await relayWithJob(true);
    const { served, openSink } = runtime();
    const subscriptions = createLocalSubscriptions({ relays: new Map([['acme', r]]), retryMs: 1500, maxReplay: 100, openSink });
    let closed = 0;
    const response = await subscriptions.open({ profile: 'acme', jobId: 'j1' }, 2, {
      headers: {},
      onClose: () => void closed++,
      context: { request: 'r-2' },
    });
    expect(response.status).toBe(204);
    expect(closed).toBe(1);
    expect(served).toEqual([]);
  });

  it('throws for a profile it has no relay of (the app frees the slot)', async () => {
    const r = await relayWithJob(false);
    const subscriptions = createLocalSubscriptions({ relays: new Map([['acme', r]]), retryMs: 1500, maxReplay: 100 });
    await expect(
      subscriptions.open({ profile: 'other', jobId: 'j1' }, -1, { headers: {}, onClose: () => undefined, context: undefined }),
    ).rejects.toThrow(TypeError);
  });
});
