import { afterAll, beforeAll } from 'vitest';
import { multiplexScenarios } from '../scenarios/multiplex.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

// The multiplexed stream on the Node gateway; the same scenarios run in workerd (test/worker/multiplex.test.ts).
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ POLL_INTERVAL_MS: '30', HEARTBEAT_MS: '100' });
});
afterAll(async () => {
  await gw.close();
});

multiplexScenarios(() => gw.scenarioTarget());
