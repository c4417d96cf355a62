import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_ENV, accessScenarios } from '../scenarios/access.ts';
import { multiplexAccessScenarios } from '../scenarios/multiplex.ts';
import { createWithKey, holdStream } from '../support/security.ts';
import { until } from '../support/until.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// Access control on the Worker is the shared app's: the same scenarios as on Node
// (test/node/access.test.ts). Worker-only here: a vanished client's subscriber slot.
let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker({
    ...ACCESS_ENV,
    POLL_INTERVAL_MS: '30',
    MAX_SUBSCRIBERS_PER_IP: '2',
    MAX_STREAM_MS: '2000',
  });
});
afterAll(async () => {
  await worker?.close();
});

accessScenarios(() => worker);
multiplexAccessScenarios(() => worker);

describe('Worker: subscriber slots', () => {
  it("gets a vanished client's subscriber slot back within MAX_STREAM_MS, without the abort signal", async () => {
    const job = await createWithKey(worker.url, 'held --sim-steps 60 --sim-interval 100');
    const url = `${worker.url}${job.streamUrl}`;
    const [a, b] = [await holdStream(url), await holdStream(url)];
    expect([a.response.status, b.response.status]).toEqual([200, 200]);
    expect((await fetch(url)).status).toBe(429);
    a.close();
    const again = await until(
      async () => {
        const attempt = await holdStream(url);
        if (attempt.response.status === 200) return attempt;
        attempt.close();
        return undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the slot back' },
    );
    expect(again.response.status).toBe(200);
    b.close();
    again.close();
  });
});

describe('Worker: the media proxy outside development', () => {
  it('refuses the simulator’s loopback images once the gateway is not open (no stand-in exception), with the stream’s access', async () => {
    const job = await createWithKey(worker.url, 'media --sim-steps 1 --sim-interval 5');
    const stream = await fetch(`${worker.url}${job.streamUrl}`);
    await stream.text();
    const url = `${worker.url}/v1/jobs/midjourney-v3/${encodeURIComponent(job.jobId)}/media/0`;
    expect((await fetch(url)).status).toBe(401);
    const refused = await fetch(`${url}?token=${encodeURIComponent(job.token)}`);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: `media host not allowed for this profile: ${new URL(worker.simulatorUrl).host}`,
      code: 'forbidden',
    });
    expect(
      (await fetch(`${worker.url}/v1/jobs/midjourney-v3/${encodeURIComponent(job.jobId)}/media/5?token=${encodeURIComponent(job.token)}`))
        .status,
    ).toBe(404);
  });
});
