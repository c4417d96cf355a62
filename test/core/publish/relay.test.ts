import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import type { SubscriberSink } from '../../../src/core/fanout/hub.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import type { PublishedEvent } from '../../../src/core/publish/event.ts';
import { type PublishedRelay, createPublishedRelay } from '../../../src/core/publish/relay.ts';
import { type ManualClock, manualClock } from '../../support/clock.ts';

const DEADLINE_MS = 60_000;
const SECRET = 'publisher-secret-key-0123456789';

let relay: PublishedRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

function open(clock: ManualClock): PublishedRelay {
  const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000, now: () => clock.now() });
  relay = createPublishedRelay({
    bus,
    namespace: 'render',
    redact: (text) => text.split(SECRET).join('[redacted]'),
    logger: silentLogger,
    historyMaxEvents: 100,
    heartbeatMs: 60_000,
    leaseMs: 1000,
    jobDeadlineMs: DEADLINE_MS,
    unknownJobWaitMs: 500,
    clock,
  });
  return relay;
}

const event = (data: unknown, extra: Partial<PublishedEvent> = {}): PublishedEvent => ({
  data: JSON.stringify(data),
  terminal: false,
  ...extra,
});

/** A subscriber's frames as text, read from the hub the relay opens for it. */
async function watch(published: PublishedRelay, jobId: string, since = -1) {
  const outcome = await published.subscribe(jobId, since);
  if (outcome.kind !== 'open') return { text: () => '', ended: () => true, finished: true };
  const decoder = new TextDecoder();
  let text = '';
  let ended = false;
  const sink: SubscriberSink = {
    write(bytes) {
      text += decoder.decode(bytes);
      return true;
    },
    end() {
      ended = true;
    },
  };
  outcome.hub.attach(sink, since);
  return { text: () => text, ended: () => ended, finished: false };
}

describe('published relay', () => {
  it('frames the publisher data and names, numbers unnumbered events, and ends subscribers at the terminal event', async () => {
    const clock = manualClock();
    const published = open(clock);
    expect(await published.publish('j1', [event({ step: 1 }, { event: 'progress' }), event('two')])).toEqual({
      stored: [0, 1],
      duplicates: [],
      lastSeq: 1,
      ended: false,
    });
    const viewer = await watch(published, 'j1');
    expect(viewer.text()).toBe('id: 0\nevent: progress\ndata: {"step":1}\n\nid: 1\ndata: "two"\n\n');
    await published.publish('j1', [event({ done: true }, { terminal: true })]);
    expect(viewer.text()).toContain('id: 2\ndata: {"done":true}\n\n');
    expect(viewer.ended()).toBe(true);
    expect((await watch(published, 'j1', 2)).finished).toBe(true);
    expect(await published.latest('j1')).toMatchObject({ seq: 2, data: { done: true }, terminal: true });
  });

  it('stores a retry once, announces a jump as a gap, and refuses a new event after the end (409)', async () => {
    const clock = manualClock();
    const published = open(clock);
    const batch = [event('a', { seq: 1 }), event('b', { seq: 2 })];
    expect(await published.publish('j2', batch)).toMatchObject({ stored: [1, 2], duplicates: [] });
    expect(await published.publish('j2', batch)).toEqual({ stored: [], duplicates: [1, 2], lastSeq: 2, ended: false });
    await published.publish('j2', [event('e', { seq: 5, terminal: true })]);
    const late = await watch(published, 'j2');
    expect(late.text()).toBe('id: 1\ndata: "a"\n\nid: 2\ndata: "b"\n\nevent: gap\ndata: {"from":3,"to":4}\n\nid: 5\ndata: "e"\n\n');
    await expect(published.publish('j2', [event('late')])).rejects.toMatchObject({ code: 'conflict', status: 409 });
    expect(await published.publish('j2', [event('e', { seq: 5, terminal: true })])).toEqual({
      stored: [],
      duplicates: [5],
      lastSeq: 5,
      ended: true,
    });
  });

  it('ends a job whose publisher went silent past the deadline, counted from its last event', async () => {
    const clock = manualClock();
    const published = open(clock);
    await published.publish('j3', [event('first')]);
    const viewer = await watch(published, 'j3');
    await clock.advance(DEADLINE_MS - 1000);
    await published.publish('j3', [event('still here')]);
    await clock.advance(DEADLINE_MS - 1000);
    expect(viewer.ended()).toBe(false);
    await clock.advance(2000);
    await clock.flush();
    expect(viewer.ended()).toBe(true);
    expect(await published.latest('j3')).toMatchObject({ seq: 2, terminal: true, data: { code: 'publisher_silent' } });
    expect(viewer.text()).toContain(
      'id: 2\ndata: {"error":"relay gave up: the publisher sent nothing for 60 s","code":"publisher_silent"}',
    );
  });

  it('answers 404 for a job with no event once the short wait is over, and serves one published meanwhile', async () => {
    const clock = manualClock();
    const published = open(clock);
    const missing = expect(published.subscribe('never', -1)).rejects.toMatchObject({ code: 'not_found' });
    await clock.advance(600);
    await missing;
    const early = published.subscribe('soon', -1);
    await clock.flush();
    await published.publish('soon', [event('hello')]);
    const opened = await early;
    expect(opened.kind).toBe('open');
    if (opened.kind === 'open') opened.release();
  });

  it('cuts configured secrets out of published data before it is stored', async () => {
    const published = open(manualClock());
    await published.publish('j4', [event({ note: `key ${SECRET}` })]);
    expect(JSON.stringify(await published.latest('j4'))).not.toContain(SECRET);
    expect(await published.latest('j4')).toMatchObject({ data: { note: 'key [redacted]' } });
  });
});
