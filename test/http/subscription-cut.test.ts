import { describe, expect, it } from 'vitest';
import { JobHub } from '../../src/core/fanout/hub.ts';
import { createMemoryBus } from '../../src/core/bus/memory-bus.ts';
import type { FrameStyle } from '../../src/core/profile.ts';
import { encodeComment } from '../../src/core/fanout/sse.ts';
import { subscriptionResponse } from '../../src/http/subscription-response.ts';

// A runtime's stream-length cut (the Worker's MAX_STREAM_MS), through the hub.
const retention = { historyMaxEvents: 100, historyTtlMs: 60_000 };
const dropIn: FrameStyle = { eventName: () => 'message', earlyEnd: (lastSeq) => JSON.stringify({ type: 'error', after: lastSeq }) };

async function opened(style?: FrameStyle) {
  const bus = createMemoryBus(retention);
  const hub = new JobHub('j', bus, 100, {}, style ? [style] : []);
  await hub.ready();
  await bus.append('j', { seq: 0, data: '{"n":0}', terminal: false });
  let closed = 0;
  return { bus, hub, closes: () => closed, outcome: { kind: 'open' as const, hub, release: () => void closed++ } };
}

describe('subscriptionResponse with a cut', () => {
  it('uniform: the tail frames, then a clean close; the subscriber is gone from the hub', async () => {
    const { hub, outcome, closes } = await opened();
    const response = subscriptionResponse(outcome, -1, {
      retryMs: 10,
      maxQueuedBytes: 1 << 20,
      cut: { afterMs: 20, tail: [encodeComment('limit')] },
    });
    const text = await response.text();
    expect(text).toBe('retry: 10\n\nid: 0\ndata: {"n":0}\n\n: limit\n\n');
    expect(hub.size).toBe(0);
    expect(closes()).toBe(1);
  });

  it('drop-in without a tail: the style early-end event, never a bare close', async () => {
    const { outcome } = await opened(dropIn);
    const response = subscriptionResponse(outcome, -1, { retryMs: 10, maxQueuedBytes: 1 << 20, style: dropIn, cut: { afterMs: 20 } });
    expect(await response.text()).toMatch(/event: message\ndata: \{"type":"error","after":0\}\n\n$/);
  });

  it('drop-in whose style has no early-end event: the stream errors', async () => {
    const plain: FrameStyle = { noGapFrames: true };
    const { outcome } = await opened(plain);
    const response = subscriptionResponse(outcome, -1, { retryMs: 10, maxQueuedBytes: 1 << 20, style: plain, cut: { afterMs: 20 } });
    await expect(response.text()).rejects.toThrow();
  });

  it('a stream that ends first (the terminal event) clears its cut', async () => {
    const { bus, outcome, closes } = await opened();
    const response = subscriptionResponse(outcome, -1, { retryMs: 10, maxQueuedBytes: 1 << 20, cut: { afterMs: 60_000, tail: [] } });
    await bus.append('j', { seq: 1, data: '{"n":1}', terminal: true });
    expect(await response.text()).toBe('retry: 10\n\nid: 0\ndata: {"n":0}\n\nid: 1\ndata: {"n":1}\n\n');
    expect(closes()).toBe(1);
  });
});
