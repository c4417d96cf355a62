import { afterAll, beforeAll } from 'vitest';
import { badRequestScenarios } from '../scenarios/bad-requests.ts';
import { openModeScenarios } from '../scenarios/open-mode.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ MAX_BODY_BYTES: '2048' });
});
afterAll(async () => {
  await gw.close();
});

badRequestScenarios(() => gw.scenarioTarget());
openModeScenarios(() => gw.scenarioTarget());
