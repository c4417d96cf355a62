import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import { manualClock } from '../../support/clock.ts';
import { CONTRACT_RETENTION, busContracts } from './contracts/index.ts';

// Jobs and leases expire on a manual clock: what outlives its time does so because time moved, not because a timer was slow.
busContracts('memory', async () => {
  const clock = manualClock();
  const bus = createMemoryBus({ ...CONTRACT_RETENTION, now: () => clock.now() });
  return { a: bus, b: bus, elapse: (ms) => clock.advance(ms), close: () => bus.close() };
});
