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
