import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../../src/core/bus/bus.ts';
import { JobHub, type SubscriberSink } from '../../../src/core/fanout/hub.ts';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import type { FrameStyle } from '../../../src/core/profile.ts';
import { until } from '../../support/until.ts';

// Events the bus lost (Redis restarted empty mid-job) are never a silent hole: whoever is
// attached, joins later, or waits ahead gets a `gap` frame for them, wherever the hole is.

const decoder = new TextDecoder();
const retention = { historyMaxEvents: 10_000, historyTtlMs: 60_000 };
const ev = (seq: number, prev?: number) => ({ seq, data: `{"seq":${seq}}`, terminal: false, ...(prev === undefined ? {} : { prev }) });

/** What a subscriber read, as `gap a-b` and `N` (an event's id), in order. */
function transcriptSink() {
  let text = '';
  const sink: SubscriberSink = {
    write(bytes) {
      text += decoder.decode(bytes);
      return true;
    },
    end() {},
  };
  const read = () =>
    [...text.matchAll(/^event: gap\ndata: \{"from":(\d+),"to":(\d+)\}$|^id: (\d+)$/gm)].map((m) =>
      m[3] === undefined ? `gap ${m[1]}-${m[2]}` : m[3],
    );
  return { sink, read };
}

describe('JobHub: holes after bus data loss', () => {
  it('announces the lost events to a subscriber attached while the bus held nothing of the job', async () => {
    // A cold instance's hub after Redis restarted empty: nothing to replay, the subscriber waits live.
    const bus = createMemoryBus(retention);
    const hub = new JobHub('j', bus, 100);
    await hub.ready();
    const sub = transcriptSink();
    hub.attach(sub.sink, -1);
    // The owner's next event (it stored 0..4 before the loss); the hub reads it from history.
    await bus.append('j', ev(5, 4));
    await bus.append('j', ev(6, 5));
    await until(() => sub.read().length >= 3);
    expect(sub.read()).toEqual(['gap 0-4', '5', '6']);
    await hub.close();
  });

  it('keeps a hole inside the cache: later joiners get the gap where it is, not only at the start', async () => {
    const bus = createMemoryBus(retention);
    for (const seq of [0, 1, 2]) await bus.append('j', ev(seq));
    const hub = new JobHub('j', bus, 100);
    await hub.ready();
    const early = transcriptSink();
    hub.attach(early.sink, -1);
    // 3..5 were lost; a second writer may even have stored on since (the bus keeps the writer's prev).
    await bus.append('j', ev(6, 5));
    await bus.append('j', ev(7, 6));
    await until(() => early.read().length >= 6);
    expect(early.read()).toEqual(['0', '1', '2', 'gap 3-5', '6', '7']);
    const late = transcriptSink();
    hub.attach(late.sink, -1);
    expect(late.read()).toEqual(['0', '1', '2', 'gap 3-5', '6', '7']);
    const resumed = transcriptSink();
    hub.attach(resumed.sink, 3);
    expect(resumed.read()).toEqual(['gap 4-5', '6', '7']);
    const past = transcriptSink();
    hub.attach(past.sink, 5);
    expect(past.read()).toEqual(['6', '7']);
    // A hub built afterwards reads the same hole from history.
    const cold = new JobHub('j', bus, 100);
    await cold.ready();
    const coldSub = transcriptSink();
    cold.attach(coldSub.sink, 1);
    expect(coldSub.read()).toEqual(['2', 'gap 3-5', '6', '7']);
    await hub.close();
    await cold.close();
  });

  it('announces a hole found in history while filling to the subscribers already attached', async () => {
    // Live delivery skipped 3..5 (a pub/sub message lost), and the bus lost them too.
    const bus = createMemoryBus(retention);
    let muted = false;
    const lossy = {
      ...bus,
      subscribe: (job: string, listener: (event: StoredEvent) => void) => {
        return bus.subscribe(job, (event) => {
          if (!muted) listener(event);
        });
      },
    };
    for (const seq of [0, 1, 2]) await bus.append('j', ev(seq));
    const hub = new JobHub('j', lossy, 100);
    await hub.ready();
    const sub = transcriptSink();
    hub.attach(sub.sink, -1);
    muted = true;
    await bus.append('j', ev(6, 5));
    muted = false;
    await bus.append('j', ev(7, 6));
    await until(() => sub.read().length >= 6);
    expect(sub.read()).toEqual(['0', '1', '2', 'gap 3-5', '6', '7']);
    await hub.close();
  });

  it('announces what a subscriber resumed ahead of the hub lacks when it is let in', async () => {
    // The client had 0..3 from an instance that then died; Redis lost everything; the owner goes on at 6.
    const bus = createMemoryBus(retention);
    const hub = new JobHub('j', bus, 100);
    await hub.ready();
    const ahead = transcriptSink();
    hub.attach(ahead.sink, 3);
    await bus.append('j', ev(6, 5));
    await until(() => ahead.read().length >= 2);
    expect(ahead.read()).toEqual(['gap 4-5', '6']);
    await hub.close();
  });

  it('skips the gap frames for a style without them, and still sends every event', async () => {
    const style: FrameStyle = { noGapFrames: true };
    const bus = createMemoryBus(retention);
    for (const seq of [0, 1]) await bus.append('j', ev(seq));
    const hub = new JobHub('j', bus, 100, {}, [style]);
    await hub.ready();
    const plain = transcriptSink();
    hub.attach(plain.sink, -1, Number.POSITIVE_INFINITY, style);
    await bus.append('j', ev(5, 4));
    await until(() => plain.read().length >= 3);
    expect(plain.read()).toEqual(['0', '1', '5']);
    const late = transcriptSink();
    hub.attach(late.sink, -1, Number.POSITIVE_INFINITY, style);
    expect(late.read()).toEqual(['0', '1', '5']);
    await hub.close();
  });

  it('counts a hole once for the live subscribers and once per joiner that replays it', async () => {
    const gaps: [number, number][] = [];
    const bus = createMemoryBus(retention);
    await bus.append('j', ev(0));
    const hub = new JobHub('j', bus, 100, { onGap: (_, from, to) => void gaps.push([from, to]) });
    await hub.ready();
    const a = transcriptSink();
    const b = transcriptSink();
    hub.attach(a.sink, -1);
    hub.attach(b.sink, -1);
    await bus.append('j', ev(3, 2));
    await until(() => a.read().length >= 3 && b.read().length >= 3);
    hub.attach(transcriptSink().sink, 0);
    expect(gaps).toEqual([
      [1, 2],
      [1, 2],
    ]);
    await hub.close();
  });
});
