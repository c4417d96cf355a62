import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import { JobHub, type SubscriberSink } from '../../../src/core/fanout/hub.ts';
import type { FrameStyle } from '../../../src/core/profile.ts';

// A style whose stored events stand for none, one or several of a vendor's own events (Replicate's
// drop-in): each written with the event's seq as `id:`, and nothing at all, not even an empty
// write, for an event that stands for none.
const style: FrameStyle = {
  vendorEvents: (data) => (JSON.parse(data) as { v: string[] }).v.map((name) => ({ event: name, data: `${name} data` })),
  noGapFrames: true,
};

/** A sink that refuses an empty write, as a subscriber's socket may: the hub would drop it. */
function strictSink() {
  let text = '';
  let ended = false;
  const sink: SubscriberSink = {
    write(bytes) {
      if (bytes.byteLength === 0) return false;
      text += new TextDecoder().decode(bytes);
      return true;
    },
    end() {
      ended = true;
    },
  };
  return { sink, text: () => text, ended: () => ended };
}

const stored = (seq: number, v: string[], terminal = false) => ({ seq, data: JSON.stringify({ v }), terminal, prev: seq - 1 });

describe('JobHub with a style of vendor events', () => {
  it('replays and forwards each stored event as the vendor events it stands for, skipping those that stand for none', async () => {
    const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
    await bus.append('j', stored(0, []));
    const hub = new JobHub('j', bus, 100, {}, [style]);
    await hub.ready();
    // Its replay stands for nothing yet: it stays attached.
    const early = strictSink();
    hub.attach(early.sink, -1, Number.POSITIVE_INFINITY, style);
    expect(early.ended()).toBe(false);
    await bus.append('j', stored(1, ['output']));
    await bus.append('j', stored(2, []));
    await bus.append('j', stored(3, ['logs', 'output']));
    await bus.append('j', stored(4, ['error', 'done'], true));
    const late = strictSink();
    hub.attach(late.sink, -1, Number.POSITIVE_INFINITY, style);
    const expected =
      'id: 1\nevent: output\ndata: output data\n\n' +
      'id: 3\nevent: logs\ndata: logs data\n\nid: 3\nevent: output\ndata: output data\n\n' +
      'id: 4\nevent: error\ndata: error data\n\nid: 4\nevent: done\ndata: done data\n\n';
    for (const reader of [early, late]) {
      expect(reader.text()).toBe(expected);
      expect(reader.ended()).toBe(true);
    }
    await hub.close();
  });
});
