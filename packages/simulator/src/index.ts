// The simulator's API on any runtime (Web APIs only); `@sse-relay/simulator/node` serves it on a Node port.
export { createSimulator } from './simulator.ts';
export type { Simulator, SimulatorOptions } from './simulator.ts';
export type { SimStats, SimRequest } from './stats.ts';
export { FAL_QUEUE_PATH } from './fal/fal-simulator.ts';
export type { FalSimulatorOptions } from './fal/fal-simulator.ts';
export type { FalStats } from './fal/stats.ts';
export { OPENAI_BASE_PATH } from './openai/index.ts';
export type { OpenAIStats } from './openai/index.ts';
export { maskKey } from './openai/auth.ts';
export { REPLICATE_BASE_PATH, REPLICATE_STREAM_PATH } from './replicate/index.ts';
export type { ReplicateStats } from './replicate/index.ts';
