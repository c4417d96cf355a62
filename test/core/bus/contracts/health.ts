import { describe, expect, it } from 'vitest';
import type { BusHealth } from '../../../../src/core/bus/bus.ts';
import { type PortPair, eachPair } from './pair.ts';

/** What every bus tells of its health: ping when reachable; since when it holds its data, where it can lose it. */
export function healthContract(name: string, open: () => Promise<PortPair<BusHealth>>): void {
  describe(`Health contract: ${name}`, () => {
    const pair = eachPair(open);

    it('answers ping', async () => {
      await expect(pair().a.ping()).resolves.toBeUndefined();
    });

    it('tells (when it can lose its data) since when it holds it: the same past time for every instance', async (ctx) => {
      const { a, b } = pair();
      if (!a.dataSince || !b.dataSince) return ctx.skip();
      const since = await a.dataSince();
      expect(since).toBeLessThanOrEqual(Date.now());
      expect(await b.dataSince()).toBe(since);
      expect(await a.dataSince()).toBe(since);
    });
  });
}
