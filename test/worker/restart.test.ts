import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type WorkerDev, startWorkerDev } from '../../scripts/worker-dev.ts';
import { PUBLISHERS, newPublishedJob, publishJson } from '../support/publisher.ts';
import { createJobId, ids, readSse, streamUrl } from '../support/sse.ts';
import { type TestSimulator, startTestSimulator, workerTestVars } from '../support/worker.ts';
import { until } from '../support/until.ts';

// Eviction, the hard way: workerd is stopped mid-job and started again on the same storage.
let simulator: TestSimulator;
let state: string;
let dev: WorkerDev | undefined;
beforeAll(async () => {
  simulator = await startTestSimulator();
  state = mkdtempSync(join(tmpdir(), 'sse-relay-restart-'));
});
// Each test's last worker goes with it: a test that starts one over `dev` would leave it running.
afterEach(async () => {
  await dev?.close();
  dev = undefined;
});
afterAll(async () => {
  await simulator?.close();
  if (state) rmSync(state, { recursive: true, force: true });
});

const start = () =>
  startWorkerDev({
    persistTo: state,
    vars: workerTestVars({ UPSTREAM_URL: simulator.url, UPSTREAM_TOKEN: 'test-token', LEASE_MS: '300', POLL_INTERVAL_MS: '30' }),
  });

describe('Worker: a job survives its Durable Objects being torn down', () => {
  it('the alarm takes the job over by polling with nobody connected, and history resumes without gap', async () => {
    dev = await start();
    const before = await simulator.stats();
    const jobId = await createJobId(dev.url, 'survivor --sim-steps 30 --sim-interval 100');
    const head = await readSse(streamUrl(dev.url, jobId), { stopWhen: (events) => events.length >= 3 });
    await dev.close();
    const polls = async () => (await simulator.stats()).polls[jobId] ?? 0;
    const pollsWhileDown = await polls();

    dev = await start();
    // No request reaches the job: only its alarm can wake the object and make it poll.
    await until(polls, (count) => count > pollsWhileDown, { timeoutMs: 15_000, intervalMs: 100, what: 'a poll after the restart' });
    expect(await polls()).toBeGreaterThan(pollsWhileDown);

    const rest = await readSse(streamUrl(dev.url, jobId), { headers: { 'Last-Event-ID': head.events.at(-1)?.id ?? '' } });
    const seen = [...ids(head.events), ...ids(rest.events)];
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
    expect((JSON.parse(rest.events.at(-1)?.data ?? '{}') as { event?: string }).event).toBe('midjourney_completed');
    expect((await simulator.stats()).streamsServed - before.streamsServed).toBe(1);
  }, 90_000);
});

describe('Worker: a published job survives its Durable Object being torn down', () => {
  it("the alarm ends a silent publisher's job with nobody connected", async () => {
    const published = mkdtempSync(join(tmpdir(), 'sse-relay-restart-published-'));
    const startPublishing = () =>
      startWorkerDev({
        persistTo: published,
        vars: workerTestVars({ UPSTREAM_URL: simulator.url, UPSTREAM_TOKEN: 'test-token', PUBLISHERS, JOB_DEADLINE_MS: '4000' }),
      });
    try {
      dev = await startPublishing();
      const job = newPublishedJob('evicted');
      expect((await publishJson(dev.url, job, { data: { step: 1 } })).status).toBe(200);
      const publishedAt = Date.now();
      await dev.close();
      dev = await startPublishing();
      // Reading the latest event wakes the object but ends nothing: only its alarm can.
      const latest = async () => (await (await fetch(`${dev?.url}/v1/jobs/render/${job}`)).json()) as { seq: number; terminal: boolean };
      // Back before the deadline (the usual case), the job is still running: its end is the alarm's.
      if (Date.now() - publishedAt < 3000) expect((await latest()).terminal).toBe(false);
      const ended = await until(latest, (event) => event.terminal, { timeoutMs: 15_000, intervalMs: 200, what: 'the silent end' });
      expect(ended).toMatchObject({ seq: 1, terminal: true, data: { code: 'publisher_silent' } });
    } finally {
      await dev?.close();
      dev = undefined;
      rmSync(published, { recursive: true, force: true });
    }
  }, 90_000);
});
