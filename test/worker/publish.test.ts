import { afterAll, beforeAll } from 'vitest';
import { publishScenarios } from '../scenarios/publish.ts';
import { PUBLISHERS } from '../support/publisher.ts';
import { SECURED } from '../support/security.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// The publish API on the Worker: the front checks keys, bodies and caps; each job's Durable Object
// stores its publishes in one step and serves its subscribers. The same scenarios as on Node; a silent
// publisher's end by the object's alarm is in restart.test.ts.
let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker({
    ...SECURED,
    PUBLISHERS,
    PUBLISH_MAX_EVENT_BYTES: '2048',
    PUBLISH_MAX_EVENTS: '20',
  });
});
afterAll(async () => {
  await worker?.close();
});

publishScenarios(() => worker);
