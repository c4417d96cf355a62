import { afterAll, beforeAll } from 'vitest';
import { falSdkScenarios } from '../scenarios/sdk-fal.ts';
import { openaiSdkScenarios } from '../scenarios/sdk-openai.ts';
import { replicateSdkScenarios } from '../scenarios/sdk-replicate.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

// The vendors' official SDKs against the Node gateway; the same scenarios run in workerd
// (test/worker/sdk-scenarios.test.ts). Node-only settings: test/profiles/*-sdk.test.ts.
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ POLL_INTERVAL_MS: '30' });
});
afterAll(async () => {
  await gw?.close();
});

openaiSdkScenarios(() => gw.scenarioTarget());
falSdkScenarios(() => gw.scenarioTarget());
replicateSdkScenarios(() => gw.scenarioTarget());
