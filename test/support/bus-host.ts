// A separate process holding a memory bus and serving it over its IPC channel (as the cluster primary
// does). argv[2]: the retention as JSON.
import { createMemoryBus } from '../../src/core/bus/memory-bus.ts';
import { channelOf, serveBus } from '../../src/node/ipc-bus.ts';

serveBus(createMemoryBus(JSON.parse(process.argv[2] ?? '{}')), channelOf(process));
process.send?.({ ready: true });
process.on('disconnect', () => process.exit(0));
