import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { falSdkScenarios } from '../scenarios/sdk-fal.ts';
import { openaiSdkScenarios } from '../scenarios/sdk-openai.ts';
import { replicateSdkScenarios } from '../scenarios/sdk-replicate.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// The vendors' official SDKs against the Worker (workerd, Durable Objects): the same scenarios
// as on Node (test/node/sdk-scenarios.test.ts). Only the SDKs' profiles are configured.
let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker({ POLL_INTERVAL_MS: '30' }, ['openai-responses', 'fal-queue', 'replicate']);
});
afterAll(async () => {
  await worker?.close();
});

openaiSdkScenarios(() => worker);
falSdkScenarios(() => worker);
replicateSdkScenarios(() => worker);

describe('a Worker configured for some profiles', () => {
  it('serves only those: the others have no routes', async () => {
    const create = await fetch(`${worker.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"prompt":"x"}',
    });
    expect(create.status).toBe(404);
    const uniform = await fetch(`${worker.url}/v1/jobs/midjourney-v3/job-1/stream`);
    expect(uniform.status).toBe(404);
  });
});
