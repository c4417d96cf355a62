import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSourceFrames, expectWholeJobs, multiplexScenarios, muxUrl, startJobs } from '../scenarios/multiplex.ts';
import { readSse } from '../support/sse.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// The multiplexed stream on the Worker, the front merging each job's Durable Object: the same
// scenarios as on Node; Worker-only here: the objects' streams cut at MAX_STREAM_MS.
let worker: TestWorker;
let cutting: TestWorker;
beforeAll(async () => {
  [worker, cutting] = await Promise.all([
    startTestWorker({ HEARTBEAT_MS: '100', POLL_INTERVAL_MS: '30' }),
    startTestWorker({ HEARTBEAT_MS: '100', POLL_INTERVAL_MS: '30', MAX_STREAM_MS: '1000', RETRY_MS: '50' }),
  ]);
});
afterAll(async () => {
  await Promise.all([worker?.close(), cutting?.close()]);
});

multiplexScenarios(() => worker);

describe('Worker: the multiplexed stream cut at MAX_STREAM_MS', () => {
  it('ends with a comment and retry when the objects cut their streams; EventSource resumes every job, no gap, no duplicate', async () => {
    const jobs = await startJobs(cutting, 'cut', () => 12, 200);
    const url = muxUrl(
      cutting.url,
      jobs.map((job) => job.name),
    );
    const first = await readSse(url);
    expect(first.status).toBe(200);
    expect(first.comments).toContain('stream time limit reached, reconnect to resume');
    expect(first.events.some((event) => event.id !== undefined)).toBe(true);
    const frames = await eventSourceFrames(url);
    await expectWholeJobs(cutting, jobs, frames);
  });
});
