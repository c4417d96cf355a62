import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe } from 'vitest';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import { replicateTokenLeakScenarios } from '../../scenarios/leak-replicate.ts';
import { type TestGateway, startTestGateway } from '../../support/gateway.ts';

// REPLICATE_API_TOKEN against a simulator that accepts only it and echoes it; the same scenario runs in workerd (test/worker/leak.test.ts).
const GATEWAY_KEY = 'gw-key-0123456789abcdef';
const REPLICATE_CANARY = 'r8_LEAK-CANARY-9012';

let sim: Simulator;
let simServer: ServerType;
let gw: TestGateway;

beforeAll(async () => {
  sim = createSimulator({ token: REPLICATE_CANARY, defaultIntervalMs: 5 });
  simServer = serve({ fetch: sim.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => simServer.once('listening', () => resolve()));
  const { port } = simServer.address() as AddressInfo;
  gw = await startTestGateway({
    REPLICATE_API_TOKEN: REPLICATE_CANARY,
    REPLICATE_BASE_URL: `http://127.0.0.1:${port}/replicate/v1`,
    GATEWAY_API_KEYS: GATEWAY_KEY,
    POLL_INTERVAL_MS: '20',
  });
});

afterAll(async () => {
  await gw?.close();
  sim?.close();
  await new Promise<void>((resolve) => simServer.close(() => resolve()));
});

describe('replicate on Node', () => {
  replicateTokenLeakScenarios(() => ({ url: gw.url, token: REPLICATE_CANARY, apiKey: GATEWAY_KEY, logs: () => gw.logs }));
});
