import { createMemoryQueue } from '../../../src/core/queue/memory-queue.ts';
import { CONTRACT_MAX, queueContract } from './queue-contract.ts';

queueContract('memory', async () => {
  const queue = createMemoryQueue({ max: CONTRACT_MAX });
  return { a: queue, b: queue, close: () => queue.close() };
});
