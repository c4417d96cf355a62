import { afterAll, beforeAll } from 'vitest';
import { badRequestScenarios } from '../scenarios/bad-requests.ts';
import { openModeScenarios } from '../scenarios/open-mode.ts';
import { mediaScenarios } from '../scenarios/media.ts';
import { SCENARIO_PROFILES } from '../scenarios/profiles.ts';
import { publishedScenarioProfile } from '../scenarios/published.ts';
import { streamingScenarios } from '../scenarios/streaming.ts';
import { uniformScenarios } from '../scenarios/uniform.ts';
import { upstreamScenarios } from '../scenarios/upstream.ts';
import { PUBLISHERS } from '../support/publisher.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// The same scenarios as on Node, against the Worker and its Durable Objects in workerd.
let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker({ HEARTBEAT_MS: '100', POLL_INTERVAL_MS: '30', MAX_BODY_BYTES: '2048', PUBLISHERS });
});
afterAll(async () => {
  await worker?.close();
});

streamingScenarios(() => worker);
upstreamScenarios(() => worker);
badRequestScenarios(() => worker);
openModeScenarios(() => worker);
for (const profile of SCENARIO_PROFILES) uniformScenarios(() => worker, profile);
uniformScenarios(() => worker, publishedScenarioProfile);
mediaScenarios(() => worker);
