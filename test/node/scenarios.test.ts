import { afterAll, beforeAll } from 'vitest';
import { upstreamScenarios } from '../scenarios/upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ POLL_INTERVAL_MS: '30' });
});
afterAll(async () => {
  await gw.close();
});

upstreamScenarios(() => gw.scenarioTarget());
