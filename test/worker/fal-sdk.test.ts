import { createFalClient } from '@fal-ai/client';
import type { FalClient, QueueStatus } from '@fal-ai/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FalStats } from '../../src/simulator/fal/stats.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// The official @fal-ai/client against the Worker (workerd, Durable Objects), through fal's proxy convention.
const FLUX = 'fal-ai/flux/dev';
type FluxOutput = { images: Array<{ url: string }>; prompt: string };

let worker: TestWorker;
beforeAll(async () => {
  // Only fal is configured: the Worker serves only it.
  worker = await startTestWorker({ POLL_INTERVAL_MS: '30' }, ['fal-queue']);
});
afterAll(async () => {
  await worker?.close();
});

/** The client with every request sent to the Worker's `/fal/proxy` (the target in `x-fal-target-url`). */
const proxied = (): FalClient => createFalClient({ credentials: 'any', proxyUrl: { url: `${worker.url}/fal/proxy`, when: 'always' } });

async function falStats(): Promise<FalStats> {
  return (await (await fetch(`${new URL(worker.simulatorUrl as string).origin}/_sim/fal/stats`)).json()) as FalStats;
}

/** Status streams the simulator opened for one request. */
const streamsOf = (stats: FalStats, requestId: string) =>
  stats.requests.filter((request) => request.method === 'GET' && request.path.includes(`/requests/${requestId}/status/stream`)).length;

describe('@fal-ai/client through the Worker', () => {
  it('subscribe (polling) through /fal/proxy: statuses from the history, the result fetched once, one upstream stream', async () => {
    const fal = proxied();
    const updates: QueueStatus[] = [];
    let enqueued = '';
    const result = await fal.subscribe(FLUX, {
      input: { prompt: 'a cat --sim-steps 3 --sim-interval 100' },
      logs: true,
      pollInterval: 20,
      onEnqueue: (id) => void (enqueued = id),
      onQueueUpdate: (update) => void updates.push(update),
    });
    expect(result.requestId).toBe(enqueued);
    expect((result.data as FluxOutput).prompt).toBe('a cat --sim-steps 3 --sim-interval 100');
    expect(updates.at(-1)?.status).toBe('COMPLETED');
    const stats = await falStats();
    expect(streamsOf(stats, enqueued)).toBe(1);
    expect(stats.resultFetches[enqueued]).toBe(1);
    // Polls were answered from the job's object: only those before its first status was stored went upstream.
    expect(stats.statusPolls[enqueued] ?? 0).toBeLessThan(updates.length);
  });

  it('subscribe (streaming) through /fal/proxy gathers every log line and ends with COMPLETED', async () => {
    const fal = proxied();
    const updates: QueueStatus[] = [];
    const result = await fal.subscribe(FLUX, {
      input: { prompt: 'a dog --sim-steps 4 --sim-queue 2 --sim-interval 20' },
      logs: true,
      mode: 'streaming',
      onQueueUpdate: (update) => void updates.push(update),
    });
    expect((result.data as FluxOutput).images).toHaveLength(1);
    const last = updates.at(-1)!;
    expect(last.status).toBe('COMPLETED');
    expect('logs' in last && last.logs?.map((l) => l.message)).toEqual(['step 1/4', 'step 2/4', 'step 3/4', 'step 4/4']);
    const stats = await falStats();
    expect(streamsOf(stats, result.requestId)).toBe(1);
    expect(stats.resultFetches[result.requestId]).toBe(1);
  });

  it('queue.streamStatus ends with one COMPLETED; status and result come from the history, the result fetched once', async () => {
    const fal = proxied();
    const submitted = await fal.queue.submit(FLUX, { input: { prompt: 'an owl --sim-steps 2 --sim-interval 20' } });
    expect(submitted.status).toBe('IN_QUEUE');
    expect(submitted.status_url).toBe(`${worker.url}/fal/queue/fal-ai/flux/requests/${submitted.request_id}/status`);
    const stream = await fal.queue.streamStatus(FLUX, { requestId: submitted.request_id, logs: true });
    const seen: string[] = [];
    stream.on('data', (data: QueueStatus) => void seen.push(data.status));
    const done = (await stream.done()) as QueueStatus;
    expect(done.status).toBe('COMPLETED');
    expect(seen.filter((status) => status === 'COMPLETED')).toHaveLength(1);
    const before = await falStats();
    expect(await fal.queue.status(FLUX, { requestId: submitted.request_id, logs: true })).toMatchObject({ status: 'COMPLETED' });
    for (let i = 0; i < 2; i++) {
      const result = await fal.queue.result(FLUX, { requestId: submitted.request_id });
      expect((result.data as FluxOutput).prompt).toContain('an owl');
    }
    const after = await falStats();
    expect(after.resultFetches[submitted.request_id]).toBe(1);
    expect(after.statusPolls[submitted.request_id] ?? 0).toBe(before.statusPolls[submitted.request_id] ?? 0);
  });

  it('serves only the configured profile: the others have no routes', async () => {
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
