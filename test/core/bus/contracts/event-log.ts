import { describe, expect, it } from 'vitest';
import type { EventLog } from '../../../../src/core/bus/bus.ts';
import { CONTRACT_RETENTION, type PortPair, eachPair, elapse, ev, newJob } from './pair.ts';

/** What every event log must do: store each seq once, in order, with its `prev`; keep history, state and retention. */
export function eventLogContract(name: string, open: () => Promise<PortPair<EventLog>>): void {
  describe(`Event log contract: ${name}`, () => {
    const pair = eachPair(open);

    it('stores an event once per seq and drops duplicates and older seqs', async () => {
      const { a, b } = pair();
      const job = newJob();
      expect(await a.append(job, ev(0))).toEqual({ ...ev(0), prev: -1 });
      expect(await b.append(job, ev(0))).toBeNull();
      expect(await a.append(job, ev(3))).toEqual({ ...ev(3), prev: 0 });
      expect(await b.append(job, ev(2))).toBeNull();
      expect(await b.append(job, ev(3))).toBeNull();
      expect((await b.history(job, -1)).map((e) => [e.seq, e.prev])).toEqual([
        [0, -1],
        [3, 0],
      ]);
    });

    it("gives the first event of a job it holds nothing of the writer's prev (a lost history reads as a gap)", async () => {
      const { a, b } = pair();
      const job = newJob();
      expect(await a.append(job, { ...ev(6), prev: 5 })).toEqual({ ...ev(6), prev: 5 });
      expect(await a.append(job, { ...ev(7), prev: 2 })).toEqual({ ...ev(7), prev: 6 });
      expect((await b.history(job, -1)).map((e) => [e.seq, e.prev])).toEqual([
        [6, 5],
        [7, 6],
      ]);
      // A hint that is not below the seq means nothing.
      const other = newJob();
      expect(await b.append(other, { ...ev(3), prev: 3 })).toEqual({ ...ev(3), prev: -1 });
    });

    it("keeps a writer's prev above its own last seq: another writer re-creating a lost job first leaves no silent hole", async () => {
      const { a, b } = pair();
      // The bus lost the job; a takeover stored a status as seq 0 before the old owner's seq 6 (after 5) came.
      const job = newJob();
      expect(await b.append(job, { ...ev(0), prev: -1 })).toEqual({ ...ev(0), prev: -1 });
      expect(await a.append(job, { ...ev(6), prev: 5 })).toEqual({ ...ev(6), prev: 5 });
      expect(await b.append(job, { ...ev(7), prev: 0 })).toEqual({ ...ev(7), prev: 6 });
      // A batch: the writer's prev counts for the first event it stores.
      const batched = a.appendMany ? await a.appendMany(job, [ev(7), { ...ev(12), prev: 10 }, { ...ev(13), prev: 10 }]) : [];
      if (a.appendMany) expect(batched.map((r) => (r ? [r.seq, r.prev] : null))).toEqual([null, [12, 10], [13, 12]]);
      expect((await b.history(job, -1)).map((e) => [e.seq, e.prev]).slice(0, 3)).toEqual([
        [0, -1],
        [6, 5],
        [7, 6],
      ]);
    });

    it('stores concurrent writers of the same events exactly once', async () => {
      const { a, b } = pair();
      const job = newJob();
      const writes = [];
      for (let seq = 0; seq < 20; seq++) writes.push(a.append(job, ev(seq)), b.append(job, ev(seq)));
      const stored = (await Promise.all(writes)).filter((e) => e !== null);
      expect(stored).toHaveLength(20);
      expect((await a.history(job, -1)).map((e) => e.seq)).toEqual([...Array(5).keys()].map((i) => i + 15));
    });

    it('appends a batch (when supported) like one append at a time: in order, once, nothing after the end', async (ctx) => {
      const { a, b } = pair();
      if (!a.appendMany || !b.appendMany) return ctx.skip();
      const job = newJob();
      await a.append(job, ev(1));
      const batch = [ev(0), ev(2), { ...ev(3), snapshot: 's3' }, ev(3), ev(5, true), ev(6)];
      const results = await a.appendMany(job, batch);
      expect(results.map((r) => (r ? [r.seq, r.prev] : null))).toEqual([null, [2, 1], [3, 2], null, [5, 3], null]);
      expect((await b.history(job, -1)).map((e) => e.seq)).toEqual([1, 2, 3, 5]);
      expect(await b.state(job)).toEqual({ lastSeq: 5, terminalSeq: 5, snapshot: 's3' });
      expect(await b.appendMany(job, [ev(7)])).toEqual([null]);
      expect(await b.appendMany(job, [])).toEqual([]);
    });

    it('returns history after a seq, keeps the newest events up to the cap', async () => {
      const { a, b } = pair();
      const job = newJob();
      for (let seq = 0; seq < 8; seq++) await a.append(job, ev(seq * 2));
      const all = await b.history(job, -1);
      expect(all.map((e) => e.seq)).toEqual([6, 8, 10, 12, 14]);
      expect(all[0]?.prev).toBe(4);
      expect((await b.history(job, 10)).map((e) => e.seq)).toEqual([12, 14]);
      expect(await b.history(job, 14)).toEqual([]);
      expect(await b.history(newJob(), -1)).toEqual([]);
    });

    it('keeps state: last seq, terminal seq, latest snapshot', async () => {
      const { a, b } = pair();
      const job = newJob();
      expect(await a.state(job)).toBeNull();
      await a.append(job, { ...ev(0), snapshot: 's0' });
      await a.append(job, ev(1));
      expect(await b.state(job)).toEqual({ lastSeq: 1, terminalSeq: null, snapshot: 's0' });
      await a.append(job, { ...ev(4, true), snapshot: 's4' });
      expect(await b.state(job)).toEqual({ lastSeq: 4, terminalSeq: 4, snapshot: 's4' });
      expect(await b.append(job, ev(5))).toBeNull();
    });

    it('keeps jobs apart', async () => {
      const { a, b } = pair();
      const [j1, j2] = [newJob(), newJob()];
      await a.append(j2, ev(0));
      await a.append(j1, ev(7));
      expect((await a.history(j2, -1)).map((e) => e.seq)).toEqual([0]);
      expect((await b.history(j1, -1)).map((e) => e.seq)).toEqual([7]);
      expect(await b.state(j2)).toMatchObject({ lastSeq: 0 });
    });

    it('expires a job after its terminal event, not before', async () => {
      const { a, b } = pair();
      const job = newJob();
      await a.append(job, ev(0));
      await elapse(pair(), CONTRACT_RETENTION.historyTtlMs + 100);
      expect(await b.state(job)).not.toBeNull();
      await a.append(job, ev(1, true));
      await elapse(pair(), CONTRACT_RETENTION.historyTtlMs + 150);
      expect(await b.state(job)).toBeNull();
      expect(await b.history(job, -1)).toEqual([]);
    });
  });
}
