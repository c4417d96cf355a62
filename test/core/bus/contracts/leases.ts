import { describe, expect, it } from 'vitest';
import type { Leases } from '../../../../src/core/bus/bus.ts';
import { type PortPair, eachPair, elapse, newJob } from './pair.ts';

/** What every lease store must do: one owner at a time, renew, release, expire, and a claim that takes it from anyone. */
export function leasesContract(name: string, open: () => Promise<PortPair<Leases>>): void {
  describe(`Leases contract: ${name}`, () => {
    const pair = eachPair(open);

    it('grants a lease to one owner at a time, renews, releases and expires it', async () => {
      const { a, b } = pair();
      const job = newJob();
      expect(await a.acquireLease(job, 'A', 200)).toBe(true);
      expect(await b.acquireLease(job, 'B', 200)).toBe(false);
      expect(await a.acquireLease(job, 'A', 200)).toBe(true);
      expect(await b.renewLease(job, 'B', 200)).toBe(false);
      expect(await a.renewLease(job, 'A', 200)).toBe(true);
      await b.releaseLease(job, 'B');
      expect(await b.acquireLease(job, 'B', 200)).toBe(false);
      await a.releaseLease(job, 'A');
      expect(await b.acquireLease(job, 'B', 100)).toBe(true);
      await elapse(pair(), 250);
      expect(await a.renewLease(job, 'A', 100)).toBe(false);
      expect(await a.acquireLease(job, 'A', 100)).toBe(true);
    });

    it('lets the stream holder claim a lease whoever holds it', async () => {
      const { a, b } = pair();
      const job = newJob();
      expect(await b.acquireLease(job, 'B', 5000)).toBe(true);
      await a.claimLease(job, 'A', 5000);
      expect(await b.renewLease(job, 'B', 5000)).toBe(false);
      expect(await a.renewLease(job, 'A', 5000)).toBe(true);
      await a.releaseLease(job, 'A');
      expect(await b.acquireLease(job, 'B', 5000)).toBe(true);
    });

    it('lets exactly one of many racing instances take a lease', async () => {
      const { a, b } = pair();
      const job = newJob();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).acquireLease(job, `owner-${i}`, 1000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}
