import { createMemoryQueue } from '../../../src/core/queue/memory-queue.ts';
import { manualClock } from '../../support/clock.ts';
import { CONTRACT_MAX, queueContract } from './queue-contract.ts';

// Entries expire on a manual clock: what outlives its first lifetime does so because time moved, not because a timer was slow.
queueContract('memory', async () => {
  const clock = manualClock();
  const queue = createMemoryQueue({ max: CONTRACT_MAX, now: () => clock.now() });
  return { a: queue, b: queue, elapse: (ms) => clock.advance(ms), close: () => queue.close() };
});
