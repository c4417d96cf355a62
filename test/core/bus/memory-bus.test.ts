import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import { CONTRACT_RETENTION, busContracts } from './contracts/index.ts';

busContracts('memory', async () => {
  const bus = createMemoryBus(CONTRACT_RETENTION);
  return { a: bus, b: bus, close: () => bus.close() };
});
