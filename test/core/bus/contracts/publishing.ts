import { describe, expect, it } from 'vitest';
import type { EventLog, LiveFeed, PublishInput, Publishing, StoredEvent } from '../../../../src/core/bus/bus.ts';
import { type PortPair, eachPair, eventually, newJob } from './pair.ts';

const pub = (data: string, seq?: number, terminal = false): PublishInput => ({ data, terminal, ...(seq === undefined ? {} : { seq }) });
const seqs = (events: readonly StoredEvent[]) => events.map((event) => [event.seq, event.prev]);

/** What every bus's publish must do: one atomic step per batch, seqs deduplicated and numbered in the bus, nothing after the end. */
export function publishingContract(name: string, open: () => Promise<PortPair<Publishing & EventLog & LiveFeed>>): void {
  describe(`Publishing contract: ${name}`, () => {
    const pair = eachPair(open);

    it('stores given seqs once (a retry is all duplicates), a jump after the last (a gap), and publishes them live', async () => {
      const { a, b } = pair();
      const job = newJob();
      const seen: StoredEvent[] = [];
      const off = await b.subscribe(job, (event) => seen.push(event));
      const first = await a.publish(job, [pub('"a"', 0), pub('"b"', 1)]);
      expect(first).toEqual({
        kind: 'stored',
        stored: [
          { seq: 0, prev: -1, data: '"a"', terminal: false },
          { seq: 1, prev: 0, data: '"b"', terminal: false },
        ],
        duplicates: [],
        lastSeq: 1,
      });
      expect(await b.publish(job, [pub('"a"', 0), pub('"b"', 1)])).toEqual({ kind: 'stored', stored: [], duplicates: [0, 1], lastSeq: 1 });
      const jump = await b.publish(job, [pub('"b"', 1), pub('"e"', 4)]);
      expect(jump.kind === 'stored' && seqs(jump.stored)).toEqual([[4, 3]]);
      expect(jump).toMatchObject({ duplicates: [1], lastSeq: 4 });
      await eventually(() => seen.length === 3);
      expect(seqs(seen)).toEqual([
        [0, -1],
        [1, 0],
        [4, 3],
      ]);
      expect(seqs(await a.history(job, -1))).toEqual([
        [0, -1],
        [1, 0],
        [4, 3],
      ]);
      await off();
    });

    it('numbers events without a seq one above the last, atomically across instances', async () => {
      const { a, b } = pair();
      const job = newJob();
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).publish(job, [pub(`${i}`)])));
      const numbered = outcomes.flatMap((outcome) => (outcome.kind === 'stored' ? outcome.stored.map((event) => event.seq) : []));
      expect([...numbered].sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
      expect((await a.state(job))?.lastSeq).toBe(9);
      // Numbered on from the last seq, whoever set it.
      const next = await b.publish(job, [pub('"x"', 20), pub('"y"')]);
      expect(next.kind === 'stored' && seqs(next.stored)).toEqual([
        [20, 19],
        [21, 20],
      ]);
    });

    it('stores concurrent publishes of the same seqs exactly once', async () => {
      const { a, b } = pair();
      const job = newJob();
      const batch = [pub('"a"', 0), pub('"b"', 1), pub('"c"', 2)];
      const outcomes = await Promise.all([a.publish(job, batch), b.publish(job, batch), a.publish(job, batch)]);
      const stored = outcomes.flatMap((outcome) => (outcome.kind === 'stored' ? outcome.stored.map((event) => event.seq) : []));
      expect(stored.sort()).toEqual([0, 1, 2]);
      expect(seqs(await b.history(job, -1))).toEqual([
        [0, -1],
        [1, 0],
        [2, 1],
      ]);
    });

    it('stores nothing of a batch with a new event once the job is over; a retry of the end is all duplicates', async () => {
      const { a, b } = pair();
      const job = newJob();
      const ended = await a.publish(job, [pub('"a"'), pub('"end"', undefined, true)]);
      expect(ended).toMatchObject({ kind: 'stored', lastSeq: 1 });
      expect(await b.state(job)).toMatchObject({ lastSeq: 1, terminalSeq: 1 });
      expect(await b.publish(job, [pub('"late"')])).toEqual({ kind: 'over', lastSeq: 1, terminalSeq: 1 });
      expect(await b.publish(job, [pub('"a"', 0), pub('"more"', 2)])).toEqual({ kind: 'over', lastSeq: 1, terminalSeq: 1 });
      expect(await a.publish(job, [pub('"a"', 0), pub('"end"', 1, true)])).toEqual({
        kind: 'stored',
        stored: [],
        duplicates: [0, 1],
        lastSeq: 1,
      });
      expect((await a.history(job, -1)).map((event) => event.data)).toEqual(['"a"', '"end"']);
    });

    it('refuses seqs that go down or a terminal event before the last, storing nothing', async () => {
      const { a, b } = pair();
      const job = newJob();
      await expect(a.publish(job, [pub('"a"', 3), pub('"b"', 3)])).rejects.toThrow(/go up/);
      await expect(a.publish(job, [pub('"a"', 0, true), pub('"b"', 1)])).rejects.toThrow(/terminal/);
      await expect(a.publish(job, [pub('"a"', -1)])).rejects.toThrow(/non-negative/);
      expect(await b.state(job)).toBeNull();
      expect(await b.publish(job, [])).toEqual({ kind: 'stored', stored: [], duplicates: [], lastSeq: -1 });
    });
  });
}
