import { describe, expect, it } from 'vitest';
import type { Bus } from '../../../src/core/bus/bus.ts';
import type { SubscriberSink } from '../../../src/core/fanout/hub.ts';
import { JobHub } from '../../../src/core/fanout/hub.ts';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import { sleep, until } from '../../support/until.ts';

const decoder = new TextDecoder();

/** A sink that records what a subscriber would read. */
function recordingSink(limit = Infinity) {
  let text = '';
  let ended = false;
  let writes = 0;
  const sink: SubscriberSink = {
    write(bytes) {
      if (ended || ++writes > limit) return false;
      text += decoder.decode(bytes);
      return true;
    },
    end() {
      ended = true;
    },
  };
  return {
    sink,
    ids: () => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])),
    text: () => text,
    ended: () => ended,
  };
}

const ev = (seq: number, terminal = false) => ({ seq, data: `{"event":"e","seq":${seq}}`, terminal });
const retention = { historyMaxEvents: 10_000, historyTtlMs: 60_000 };

/** A bus whose reads are slow, so live events arrive while history is being read. */
function slowHistoryBus(bus: Bus, delayMs: () => number): Bus {
  return {
    ...bus,
    history: async (job, after) => {
      const result = await bus.history(job, after);
      await sleep(delayMs());
      return result;
    },
  };
}

describe('JobHub', () => {
  it('replays history then goes live, without gap or duplicate, while events keep arriving', async () => {
    for (let round = 0; round < 30; round++) {
      const memory = createMemoryBus(retention);
      const bus = slowHistoryBus(memory, () => Math.random() * 3);
      const job = `j${round}`;
      let seq = 0;
      for (; seq < 5; seq++) await bus.append(job, ev(seq));
      const writer = (async () => {
        for (; seq < 60; seq++) {
          await bus.append(job, ev(seq, seq === 59));
          if (seq % 7 === 0) await sleep(0);
        }
      })();
      const hub = new JobHub(job, bus, 10_000);
      await sleep(round % 3);
      await hub.ready();
      const late = recordingSink();
      hub.attach(late.sink, -1);
      const resumed = recordingSink();
      hub.attach(resumed.sink, 20);
      await writer;
      expect(late.ids()).toEqual([...Array(60).keys()]);
      expect(resumed.ids()).toEqual([...Array(39).keys()].map((i) => i + 21));
      expect(late.ended() && resumed.ended()).toBe(true);
      await hub.close();
    }
  });

  it('serializes each event once: every subscriber gets the identical bytes object', async () => {
    const bus = createMemoryBus(retention);
    const hub = new JobHub('j', bus, 100);
    await hub.ready();
    const seen: Uint8Array[][] = [[], [], []];
    for (const list of seen)
      hub.attach(
        {
          write: (b) => {
            list.push(b);
            return true;
          },
          end() {},
        },
        -1,
      );
    await bus.append('j', ev(0));
    expect(seen[0]?.[0]).toBeDefined();
    expect(seen[1]?.[0]).toBe(seen[0]?.[0]);
    expect(seen[2]?.[0]).toBe(seen[0]?.[0]);
  });

  it('joins a replay once for every subscriber resuming from the same point, and anew once an event has come', async () => {
    const bus = createMemoryBus(retention);
    for (let seq = 0; seq < 3; seq++) await bus.append('j', ev(seq));
    const hub = new JobHub('j', bus, 100);
    await hub.ready();
    const first: Uint8Array[] = [];
    const collect = (list: Uint8Array[]): SubscriberSink => ({
      write: (b) => {
        list.push(b);
        return true;
      },
      end() {},
    });
    const lists = [first, [], []] as Uint8Array[][];
    for (const list of lists) hub.attach(collect(list), -1);
    expect(decoder.decode(first[0])).toContain('id: 0\n');
    expect(decoder.decode(first[0])).toContain('id: 2\n');
    for (const list of lists) expect(list[0]).toBe(first[0]);
    // Another resume point: its own bytes, not the last replay's.
    const fromOne: Uint8Array[] = [];
    hub.attach(collect(fromOne), 0);
    expect(decoder.decode(fromOne[0])).not.toContain('id: 0\n');
    expect(decoder.decode(fromOne[0])).toContain('id: 1\n');
    const again: Uint8Array[] = [];
    hub.attach(collect(again), -1);
    expect(again[0]).not.toBe(first[0]);
    expect(again[0]).toEqual(first[0]);
    // A new event: the next replay from the start has it.
    await bus.append('j', ev(3));
    const later: Uint8Array[] = [];
    hub.attach(collect(later), -1);
    expect(decoder.decode(later[0])).toContain('id: 3\n');
    expect(decoder.decode(first[0])).not.toContain('id: 3\n');
  });

  it('drops duplicate and out-of-order live events', async () => {
    const bus = createMemoryBus(retention);
    const hub = new JobHub('j', bus, 100);
    await hub.ready();
    const sub = recordingSink();
    hub.attach(sub.sink, -1);
    // Feed the hub directly as a second instance's bus could: same event twice, then an old one.
    const live = (hub as unknown as { onLive(e: unknown): void }).onLive.bind(hub);
    live({ seq: 0, prev: -1, data: '{}', terminal: false });
    live({ seq: 0, prev: -1, data: '{}', terminal: false });
    live({ seq: 2, prev: 0, data: '{}', terminal: false });
    live({ seq: 1, prev: 0, data: '{}', terminal: false });
    expect(sub.ids()).toEqual([0, 2]);
  });

  it('fills a live gap from history before delivering further', async () => {
    const memory = createMemoryBus(retention);
    // A bus that loses live messages for seqs 1 and 2 (they still reach history).
    const lossy: Bus = {
      ...memory,
      subscribe: (job, listener) => memory.subscribe(job, (e) => (e.seq === 1 || e.seq === 2 ? undefined : listener(e))),
    };
    const gaps: number[] = [];
    const hub = new JobHub('j', lossy, 100, { onGap: (_, from) => void gaps.push(from) });
    await hub.ready();
    const sub = recordingSink();
    hub.attach(sub.sink, -1);
    for (let seq = 0; seq < 5; seq++) await lossy.append('j', ev(seq));
    await until(() => sub.ids().length >= 5);
    expect(sub.ids()).toEqual([0, 1, 2, 3, 4]);
    expect(sub.text()).not.toContain('gap');
    expect(gaps).toEqual([]);
  });

  it('ends subscribers after the terminal event and says a finished client has nothing more', async () => {
    const bus = createMemoryBus(retention);
    const hub = new JobHub('j', bus, 100);
    await hub.ready();
    const sub = recordingSink();
    hub.attach(sub.sink, -1);
    await bus.append('j', ev(0));
    await bus.append('j', ev(5, true));
    expect(sub.ids()).toEqual([0, 5]);
    expect(sub.ended()).toBe(true);
    expect(hub.size).toBe(0);
    expect(hub.isFinishedFor(5)).toBe(true);
    expect(hub.isFinishedFor(4)).toBe(false);
    const late = recordingSink();
    expect(hub.attach(late.sink, 0)).toEqual({ replayed: 1, ended: true });
    expect(late.ids()).toEqual([5]);
  });

  it('announces a gap when the resume point is older than retained history', async () => {
    const bus = createMemoryBus({ historyMaxEvents: 3, historyTtlMs: 60_000 });
    for (let seq = 0; seq < 10; seq++) await bus.append('j', ev(seq));
    const hub = new JobHub('j', bus, 3);
    await hub.ready();
    const sub = recordingSink();
    hub.attach(sub.sink, 2);
    expect(sub.text().startsWith('event: gap\ndata: {"from":3,"to":6}\n\n')).toBe(true);
    expect(sub.ids()).toEqual([7, 8, 9]);
    const current = recordingSink();
    hub.attach(current.sink, 7);
    expect(current.text()).not.toContain('gap');
    expect(current.ids()).toEqual([8, 9]);
  });

  it('drops only the failing subscriber and keeps delivering to the others', async () => {
    const bus = createMemoryBus(retention);
    const hub = new JobHub('j', bus, 100);
    await hub.ready();
    const good = recordingSink();
    const slow = recordingSink(1);
    const throwing: SubscriberSink = {
      write: () => {
        throw new Error('socket gone');
      },
      end() {},
    };
    hub.attach(good.sink, -1);
    hub.attach(slow.sink, -1);
    hub.attach(throwing, -1);
    for (let seq = 0; seq < 3; seq++) await bus.append('j', ev(seq));
    expect(good.ids()).toEqual([0, 1, 2]);
    expect(slow.ids()).toEqual([0]);
    expect(slow.ended()).toBe(true);
    expect(hub.size).toBe(1);
  });

  it('retries getting ready after the bus failed, without subscribing twice', async () => {
    const memory = createMemoryBus(retention);
    let subscribeFailures = 1;
    let historyFailures = 1;
    let subscriptions = 0;
    const flaky: Bus = {
      ...memory,
      subscribe: async (job, listener) => {
        if (subscribeFailures-- > 0) throw new Error('bus down');
        subscriptions++;
        return memory.subscribe(job, listener);
      },
      history: async (job, after) => {
        if (historyFailures-- > 0) throw new Error('bus down');
        return memory.history(job, after);
      },
    };
    await memory.append('j', ev(0));
    const hub = new JobHub('j', flaky, 100);
    await expect(hub.ready()).rejects.toThrow('bus down');
    await expect(hub.ready()).rejects.toThrow('bus down');
    await memory.append('j', ev(1));
    await hub.ready();
    expect(subscriptions).toBe(1);
    const sub = recordingSink();
    hub.attach(sub.sink, -1);
    await memory.append('j', ev(2));
    expect(sub.ids()).toEqual([0, 1, 2]);
    expect(sub.text()).not.toContain('gap');
  });
});
