import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus, StoredEvent } from '../../../src/core/bus/bus.ts';

/** Two handles on one shared bus (two instances of a cluster; the same object for memory). */
export interface BusPair {
  a: Bus;
  b: Bus;
  close(): Promise<void>;
}

/** Retention every contract run uses, so trimming and expiry are observable quickly. */
export const CONTRACT_RETENTION = { historyMaxEvents: 5, historyTtlMs: 300 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let counter = 0;
const newJob = () => `job:${Date.now()}-${counter++}`;
const ev = (seq: number, terminal = false) => ({ seq, data: `{"event":"e","seq":${seq}}`, terminal });

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** The behaviour every Bus implementation must have; run it once per implementation. */
export function busContract(name: string, open: () => Promise<BusPair>): void {
  describe(`Bus contract: ${name}`, () => {
    let pair: BusPair;
    beforeEach(async () => {
      pair = await open();
    });
    afterEach(async () => {
      await pair.close();
    });

    it('stores an event once per seq and drops duplicates and older seqs', async () => {
      const job = newJob();
      expect(await pair.a.append(job, ev(0))).toEqual({ ...ev(0), prev: -1 });
      expect(await pair.b.append(job, ev(0))).toBeNull();
      expect(await pair.a.append(job, ev(3))).toEqual({ ...ev(3), prev: 0 });
      expect(await pair.b.append(job, ev(2))).toBeNull();
      expect(await pair.b.append(job, ev(3))).toBeNull();
      expect((await pair.b.history(job, -1)).map((e) => [e.seq, e.prev])).toEqual([
        [0, -1],
        [3, 0],
      ]);
    });

    it("gives the first event of a job it holds nothing of the writer's prev (a lost history reads as a gap)", async () => {
      const job = newJob();
      expect(await pair.a.append(job, { ...ev(6), prev: 5 })).toEqual({ ...ev(6), prev: 5 });
      expect(await pair.a.append(job, { ...ev(7), prev: 2 })).toEqual({ ...ev(7), prev: 6 });
      expect((await pair.b.history(job, -1)).map((e) => [e.seq, e.prev])).toEqual([
        [6, 5],
        [7, 6],
      ]);
      // A hint that is not below the seq means nothing.
      const other = newJob();
      expect(await pair.b.append(other, { ...ev(3), prev: 3 })).toEqual({ ...ev(3), prev: -1 });
    });

    it("keeps a writer's prev above its own last seq: another writer re-creating a lost job first leaves no silent hole", async () => {
      // The bus lost the job; a takeover stored a status as seq 0 before the old owner's seq 6 (after 5) came.
      const job = newJob();
      expect(await pair.b.append(job, { ...ev(0), prev: -1 })).toEqual({ ...ev(0), prev: -1 });
      expect(await pair.a.append(job, { ...ev(6), prev: 5 })).toEqual({ ...ev(6), prev: 5 });
      expect(await pair.b.append(job, { ...ev(7), prev: 0 })).toEqual({ ...ev(7), prev: 6 });
      // A batch: the writer's prev counts for the first event it stores.
      const batched = pair.a.appendMany ? await pair.a.appendMany(job, [ev(7), { ...ev(12), prev: 10 }, { ...ev(13), prev: 10 }]) : [];
      if (pair.a.appendMany) expect(batched.map((r) => (r ? [r.seq, r.prev] : null))).toEqual([null, [12, 10], [13, 12]]);
      expect((await pair.b.history(job, -1)).map((e) => [e.seq, e.prev]).slice(0, 3)).toEqual([
        [0, -1],
        [6, 5],
        [7, 6],
      ]);
    });

    it('stores concurrent writers of the same events exactly once', async () => {
      const job = newJob();
      const writes = [];
      for (let seq = 0; seq < 20; seq++) writes.push(pair.a.append(job, ev(seq)), pair.b.append(job, ev(seq)));
      const stored = (await Promise.all(writes)).filter((e) => e !== null);
      expect(stored).toHaveLength(20);
      expect((await pair.a.history(job, -1)).map((e) => e.seq)).toEqual([...Array(5).keys()].map((i) => i + 15));
    });

    it('appends a batch (when supported) like one append at a time: in order, once, nothing after the end', async (ctx) => {
      if (!pair.a.appendMany) ctx.skip();
      const job = newJob();
      const seen: StoredEvent[] = [];
      const off = await pair.b.subscribe(job, (e) => seen.push(e));
      await pair.a.append(job, ev(1));
      const batch = [ev(0), ev(2), { ...ev(3), snapshot: 's3' }, ev(3), ev(5, true), ev(6)];
      const results = await pair.a.appendMany!(job, batch);
      expect(results.map((r) => (r ? [r.seq, r.prev] : null))).toEqual([null, [2, 1], [3, 2], null, [5, 3], null]);
      await until(() => seen.length === 4);
      expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 5]);
      expect(await pair.b.state(job)).toEqual({ lastSeq: 5, terminalSeq: 5, snapshot: 's3' });
      expect(await pair.b.appendMany!(job, [ev(7)])).toEqual([null]);
      expect(await pair.b.appendMany!(job, [])).toEqual([]);
      await off();
    });

    it('returns history after a seq, keeps the newest events up to the cap', async () => {
      const job = newJob();
      for (let seq = 0; seq < 8; seq++) await pair.a.append(job, ev(seq * 2));
      const all = await pair.b.history(job, -1);
      expect(all.map((e) => e.seq)).toEqual([6, 8, 10, 12, 14]);
      expect(all[0]?.prev).toBe(4);
      expect((await pair.b.history(job, 10)).map((e) => e.seq)).toEqual([12, 14]);
      expect(await pair.b.history(job, 14)).toEqual([]);
      expect(await pair.b.history(newJob(), -1)).toEqual([]);
    });

    it('keeps state: last seq, terminal seq, latest snapshot', async () => {
      const job = newJob();
      expect(await pair.a.state(job)).toBeNull();
      await pair.a.append(job, { ...ev(0), snapshot: 's0' });
      await pair.a.append(job, ev(1));
      expect(await pair.b.state(job)).toEqual({ lastSeq: 1, terminalSeq: null, snapshot: 's0' });
      await pair.a.append(job, { ...ev(4, true), snapshot: 's4' });
      expect(await pair.b.state(job)).toEqual({ lastSeq: 4, terminalSeq: 4, snapshot: 's4' });
      expect(await pair.b.append(job, ev(5))).toBeNull();
    });

    it('expires a job after its terminal event, not before', async () => {
      const job = newJob();
      await pair.a.append(job, ev(0));
      await sleep(CONTRACT_RETENTION.historyTtlMs + 100);
      expect(await pair.b.state(job)).not.toBeNull();
      await pair.a.append(job, ev(1, true));
      await sleep(CONTRACT_RETENTION.historyTtlMs + 150);
      expect(await pair.b.state(job)).toBeNull();
      expect(await pair.b.history(job, -1)).toEqual([]);
    });

    it('delivers live events to subscribers on every instance, in order, with prev', async () => {
      const job = newJob();
      const onA: StoredEvent[] = [];
      const onB: StoredEvent[] = [];
      const offA = await pair.a.subscribe(job, (e) => onA.push(e));
      const offB = await pair.b.subscribe(job, (e) => onB.push(e));
      for (let seq = 0; seq < 5; seq++) await pair.a.append(job, ev(seq));
      await pair.b.append(job, ev(4));
      await until(() => onA.length === 5 && onB.length === 5);
      await sleep(50);
      expect(onB.map((e) => [e.seq, e.prev])).toEqual([
        [0, -1],
        [1, 0],
        [2, 1],
        [3, 2],
        [4, 3],
      ]);
      expect(onA).toEqual(onB);
      await offB();
      await pair.a.append(job, ev(5));
      await until(() => onA.length === 6);
      await sleep(50);
      expect(onB).toHaveLength(5);
      await offA();
    });

    it('keeps jobs apart', async () => {
      const [j1, j2] = [newJob(), newJob()];
      const seen: StoredEvent[] = [];
      const off = await pair.b.subscribe(j1, (e) => seen.push(e));
      await pair.a.append(j2, ev(0));
      await pair.a.append(j1, ev(7));
      await until(() => seen.length === 1);
      expect(seen[0]?.seq).toBe(7);
      expect((await pair.a.history(j2, -1)).map((e) => e.seq)).toEqual([0]);
      await off();
    });

    it('grants a lease to one owner at a time, renews, releases and expires it', async () => {
      const job = newJob();
      expect(await pair.a.acquireLease(job, 'A', 200)).toBe(true);
      expect(await pair.b.acquireLease(job, 'B', 200)).toBe(false);
      expect(await pair.a.acquireLease(job, 'A', 200)).toBe(true);
      expect(await pair.b.renewLease(job, 'B', 200)).toBe(false);
      expect(await pair.a.renewLease(job, 'A', 200)).toBe(true);
      await pair.b.releaseLease(job, 'B');
      expect(await pair.b.acquireLease(job, 'B', 200)).toBe(false);
      await pair.a.releaseLease(job, 'A');
      expect(await pair.b.acquireLease(job, 'B', 100)).toBe(true);
      await sleep(250);
      expect(await pair.a.renewLease(job, 'A', 100)).toBe(false);
      expect(await pair.a.acquireLease(job, 'A', 100)).toBe(true);
    });

    it('lets the stream holder claim a lease whoever holds it', async () => {
      const job = newJob();
      expect(await pair.b.acquireLease(job, 'B', 5000)).toBe(true);
      await pair.a.claimLease(job, 'A', 5000);
      expect(await pair.b.renewLease(job, 'B', 5000)).toBe(false);
      expect(await pair.a.renewLease(job, 'A', 5000)).toBe(true);
      await pair.a.releaseLease(job, 'A');
      expect(await pair.b.acquireLease(job, 'B', 5000)).toBe(true);
    });

    it('lets exactly one of many racing instances take a lease', async () => {
      const job = newJob();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? pair.a : pair.b).acquireLease(job, `owner-${i}`, 1000)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('answers ping', async () => {
      await expect(pair.a.ping()).resolves.toBeUndefined();
    });
  });
}
