import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CreateQueue } from '../../../src/core/queue/create-queue.ts';
import { until } from '../../support/until.ts';

/** Two handles on one shared queue (two instances; the same object for memory), built with `max`. */
export interface QueuePair {
  a: CreateQueue;
  b: CreateQueue;
  /** Lets `ms` pass on the clock the entries expire by: a manual one where the queue takes it, else real time. */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** The bound every contract run uses. */
export const CONTRACT_MAX = 4;

let counter = 0;
const newId = () => `entry-${Date.now()}-${counter++}`;

/** The behaviour every CreateQueue implementation must have; run it once per implementation. */
export function queueContract(name: string, open: () => Promise<QueuePair>): void {
  describe(`CreateQueue contract: ${name}`, () => {
    let pair: QueuePair;
    beforeEach(async () => {
      pair = await open();
    });
    afterEach(async () => {
      await pair.close();
    });

    it('keeps arrival order across instances; leaving moves the rest up', async () => {
      const [x, y, z] = [newId(), newId(), newId()];
      expect(await pair.a.join(x, 5000)).toBe(0);
      expect(await pair.b.join(y, 5000)).toBe(1);
      expect(await pair.a.join(z, 5000)).toBe(2);
      expect(await pair.b.size()).toBe(3);
      expect(await pair.b.refresh(z, 5000)).toBe(2);
      await pair.b.leave(x);
      expect(await pair.a.refresh(y, 5000)).toBe(0);
      expect(await pair.a.refresh(z, 5000)).toBe(1);
      await pair.a.leave(y);
      await pair.a.leave(z);
      expect(await pair.b.size()).toBe(0);
    });

    it('joining twice keeps the place; leaving an unknown id does nothing', async () => {
      const [x, y] = [newId(), newId()];
      await pair.a.join(x, 5000);
      await pair.a.join(y, 5000);
      expect(await pair.b.join(x, 5000)).toBe(0);
      expect(await pair.a.size()).toBe(2);
      await pair.b.leave(newId());
      expect(await pair.a.size()).toBe(2);
    });

    it('is bounded: a full queue refuses, a freed place can be taken', async () => {
      const ids = Array.from({ length: CONTRACT_MAX }, newId);
      for (const [i, id] of ids.entries()) expect(await (i % 2 ? pair.a : pair.b).join(id, 5000)).toBe(i);
      expect(await pair.a.join(newId(), 5000)).toBeNull();
      expect(await pair.b.join(newId(), 5000)).toBeNull();
      await pair.a.leave(ids[1] as string);
      expect(await pair.b.join(newId(), 5000)).toBe(CONTRACT_MAX - 1);
    });

    it('lets exactly max of many racing joins in, each at its own place', async () => {
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? pair.a : pair.b).join(newId(), 5000)));
      const placed = results.filter((r): r is number => r !== null).sort();
      expect(placed).toEqual([...Array(CONTRACT_MAX).keys()]);
    });

    it('drops an entry nobody refreshes; a refresh extends its life', async () => {
      const [dead, kept] = [newId(), newId()];
      await pair.a.join(dead, 100);
      await pair.b.join(kept, 1000);
      expect(await pair.b.refresh(kept, 60_000)).toBe(1);
      // Past both first lifetimes: the unrefreshed entry is gone, the refreshed one still there.
      await pair.elapse(1100);
      await until(
        () => pair.a.size(),
        (size) => size <= 1,
        { timeoutMs: 5000, what: 'the unrefreshed entry to go' },
      );
      expect(await pair.a.refresh(dead, 100)).toBeNull();
      expect(await pair.b.refresh(kept, 60_000)).toBe(0);
      expect(await pair.a.size()).toBe(1);
    });

    it('an expired entry frees its place for a newcomer', async () => {
      for (let i = 0; i < CONTRACT_MAX; i++) await pair.a.join(newId(), 100);
      expect(await pair.b.join(newId(), 100)).toBeNull();
      await pair.elapse(100);
      await until(
        () => pair.b.size(),
        (size) => size === 0,
        { timeoutMs: 5000, what: 'the expired entries to go' },
      );
      expect(await pair.b.join(newId(), 5000)).toBe(0);
    });
  });
}
