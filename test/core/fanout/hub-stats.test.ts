import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import { JobHub, type SubscriberSink } from '../../../src/core/fanout/hub.ts';
import { Receipts } from '../../../src/core/fanout/receipts.ts';
import { createStats } from '../../../src/core/stats.ts';

// What a hub counts into its relay's stats: frames and bytes as written, replays, and each
// subscription's end by its reason; the lag of events whose receipt it has.

const retention = { historyMaxEvents: 100, historyTtlMs: 60_000 };
const ev = (seq: number, terminal = false) => ({ seq, data: `{"seq":${seq}}`, terminal });

/** A sink that counts the bytes it took; `full` refuses every write from then on (a subscriber too far behind). */
function sink() {
  const state = { bytes: 0, ended: false, full: false };
  const subscriber: SubscriberSink = {
    write(bytes) {
      if (state.ended || state.full) return false;
      state.bytes += bytes.byteLength;
      return true;
    },
    end() {
      state.ended = true;
    },
  };
  return { subscriber, state };
}

async function hubWithStats() {
  const bus = createMemoryBus(retention);
  const stats = createStats();
  const receipts = new Receipts();
  const hub = new JobHub('j', bus, 100, {}, [], { stats, receipts });
  await hub.ready();
  return { bus, hub, stats, receipts };
}

describe('a hub counting into its stats', () => {
  it('counts frames and bytes as written, replays apart, and the job_ended end', async () => {
    const { bus, hub, stats, receipts } = await hubWithStats();
    await bus.append('j', ev(0));
    await bus.append('j', ev(1));
    const early = sink();
    hub.attach(early.subscriber, -1);
    expect(stats.eventsReplayed).toBe(2);
    receipts.mark(2, performance.now());
    await bus.append('j', ev(2));
    hub.heartbeat(new TextEncoder().encode(':\n\n'));
    await bus.append('j', ev(3, true));
    expect(early.state.ended).toBe(true);
    expect(stats.eventsDelivered).toBe(4);
    expect(stats.bytesSent).toBe(early.state.bytes);
    // Only seq 2 had a receipt here: one observation.
    expect(stats.lag.count).toBe(1);
    expect(stats.lag.counts.reduce((a, b) => a + b, 0)).toBe(1);
    expect(stats.ended).toEqual({ job_ended: 1, client_gone: 0, slow_consumer: 0, server_closed: 0 });
  });

  it('tells a client that left, a slow consumer and the gateway ending a stream apart', async () => {
    const { bus, hub, stats } = await hubWithStats();
    await bus.append('j', ev(0));
    const [left, slow, cut, closed] = [sink(), sink(), sink(), sink()];
    for (const each of [left, slow, cut, closed]) hub.attach(each.subscriber, -1);
    hub.detach(left.subscriber);
    hub.detach(left.subscriber);
    slow.state.full = true;
    await bus.append('j', ev(1));
    expect(slow.state.ended).toBe(true);
    // Its own disconnect path runs after the hub ended it: not counted again.
    hub.detach(slow.subscriber);
    hub.endSubscriber(cut.subscriber);
    hub.detach(cut.subscriber);
    await hub.close();
    hub.detach(closed.subscriber);
    expect(stats.ended).toEqual({ job_ended: 0, client_gone: 1, slow_consumer: 1, server_closed: 2 });
    expect(stats.subscribersDropped).toBe(1);
  });
});
