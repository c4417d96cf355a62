import { afterAll, beforeAll } from 'vitest';
import { mediaScenarios } from '../scenarios/media.ts';
import { SCENARIO_PROFILES } from '../scenarios/profiles.ts';
import { publishedScenarioProfile } from '../scenarios/published.ts';
import { uniformScenarios } from '../scenarios/uniform.ts';
import { upstreamScenarios } from '../scenarios/upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { PUBLISHERS } from '../support/publisher.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ POLL_INTERVAL_MS: '30', PUBLISHERS });
});
afterAll(async () => {
  await gw.close();
});

upstreamScenarios(() => gw.scenarioTarget());
for (const profile of SCENARIO_PROFILES) uniformScenarios(() => gw.scenarioTarget(), profile);
uniformScenarios(() => gw.scenarioTarget(), publishedScenarioProfile);
mediaScenarios(() => gw.scenarioTarget());
