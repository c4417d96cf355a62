import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishScenarios } from '../scenarios/publish.ts';
import { PUBLISHERS, PUBLISHER_KEY, newPublishedJob, publishJson, publishedStreamUrl } from '../support/publisher.ts';
import { SECURED } from '../support/security.ts';
import { readSse } from '../support/sse.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// The publish API on the Worker: the front checks keys, bodies and caps; each job's Durable Object
// stores its publishes in one step and serves its subscribers. The same scenarios as on Node.
let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker({
    ...SECURED,
    PUBLISHERS,
    PUBLISH_MAX_EVENT_BYTES: '2048',
    PUBLISH_MAX_EVENTS: '20',
    JOB_DEADLINE_MS: '3000',
  });
});
afterAll(async () => {
  await worker?.close();
});

publishScenarios(() => worker);

describe('published jobs in Durable Objects', () => {
  it("ends a job whose publisher went silent with the gateway's terminal event, after the deadline", async () => {
    const job = newPublishedJob('silent');
    await publishJson(worker.url, job, { data: { step: 1 } });
    // The stream stays open until the object ends the job (JOB_DEADLINE_MS: 3 s of silence).
    const seen = await readSse(publishedStreamUrl(worker.url, 'render', job), { headers: { Authorization: `Bearer ${PUBLISHER_KEY}` } });
    expect(seen.events.map((event) => JSON.parse(event.data) as unknown)).toEqual([
      { step: 1 },
      { error: 'relay gave up: the publisher sent nothing for 3 s', code: 'publisher_silent' },
    ]);
    expect((await publishJson(worker.url, job, { data: 'late' })).status).toBe(409);
  });
});
