import { describe, expect, it } from 'vitest';
import type { EventLog, LiveFeed, StoredEvent } from '../../../../src/core/bus/bus.ts';
import { type PortPair, eachPair, ev, eventually, newJob } from './pair.ts';

/** What every live feed must do: deliver what the event log stores, on every instance, in order, once, with its `prev`. */
export function liveFeedContract(name: string, open: () => Promise<PortPair<LiveFeed & EventLog>>): void {
  describe(`Live feed contract: ${name}`, () => {
    const pair = eachPair(open);

    it('delivers live events to subscribers on every instance, in order, with prev', async () => {
      const { a, b } = pair();
      const job = newJob();
      const onA: StoredEvent[] = [];
      const onB: StoredEvent[] = [];
      const offA = await a.subscribe(job, (e) => onA.push(e));
      const offB = await b.subscribe(job, (e) => onB.push(e));
      for (let seq = 0; seq < 5; seq++) await a.append(job, ev(seq));
      await b.append(job, ev(4));
      // A marker appended last: events arrive in order, so once it did, any copy of seq 4 had too.
      await a.append(job, ev(5));
      await eventually(() => onA.at(-1)?.seq === 5 && onB.at(-1)?.seq === 5);
      expect(onB.map((e) => [e.seq, e.prev])).toEqual([
        [0, -1],
        [1, 0],
        [2, 1],
        [3, 2],
        [4, 3],
        [5, 4],
      ]);
      expect(onA).toEqual(onB);
      await offB();
      // A probe listening on b after offB: b hands an event to all its listeners at once, so once the
      // probe has seq 6, a listener offB failed to remove would have it too.
      const probe: StoredEvent[] = [];
      const offProbe = await b.subscribe(job, (e) => probe.push(e));
      await a.append(job, ev(6));
      await eventually(() => onA.at(-1)?.seq === 6 && probe.at(-1)?.seq === 6);
      expect(onB).toHaveLength(6);
      await offProbe();
      await offA();
    });

    it('delivers a batch (when supported) like one append at a time: in order, once, nothing after the end', async (ctx) => {
      const { a, b } = pair();
      if (!a.appendMany || !b.appendMany) return ctx.skip();
      const job = newJob();
      const seen: StoredEvent[] = [];
      const off = await b.subscribe(job, (e) => seen.push(e));
      await a.append(job, ev(1));
      const batch = [ev(0), ev(2), { ...ev(3), snapshot: 's3' }, ev(3), ev(5, true), ev(6)];
      const results = await a.appendMany(job, batch);
      expect(results.map((r) => (r ? [r.seq, r.prev] : null))).toEqual([null, [2, 1], [3, 2], null, [5, 3], null]);
      await eventually(() => seen.length === 4);
      expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 5]);
      expect(await b.state(job)).toEqual({ lastSeq: 5, terminalSeq: 5, snapshot: 's3' });
      expect(await b.appendMany(job, [ev(7)])).toEqual([null]);
      expect(await b.appendMany(job, [])).toEqual([]);
      await off();
    });

    it('keeps jobs apart', async () => {
      const { a, b } = pair();
      const [j1, j2] = [newJob(), newJob()];
      const seen: StoredEvent[] = [];
      const off = await b.subscribe(j1, (e) => seen.push(e));
      await a.append(j2, ev(0));
      await a.append(j1, ev(7));
      await eventually(() => seen.length === 1);
      expect(seen[0]?.seq).toBe(7);
      expect((await a.history(j2, -1)).map((e) => e.seq)).toEqual([0]);
      await off();
    });
  });
}
