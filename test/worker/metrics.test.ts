import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, SECURED, TOKEN_SECRET, createWithKey, withKey } from '../support/security.ts';
import { readSse } from '../support/sse.ts';
import { until } from '../support/until.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// What the Worker exposes of the metrics (docs/operations/metrics.md, "On Cloudflare Workers"):
// no `/metrics`, and one `job stats` line per job from its Durable Object at its end.

let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker({ ...SECURED, POLL_INTERVAL_MS: '30', LOG_LEVEL: 'info' });
});
afterAll(async () => {
  await worker?.close();
});

/** The `job stats` lines wrangler printed, parsed. */
const statsLines = () =>
  worker.dev.output
    .join('')
    .split('\n')
    .filter((line) => line.includes('"msg":"job stats"'))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>);

describe('Worker metrics', () => {
  it('has no /metrics: a clear 404', async () => {
    const response = await fetch(`${worker.url}/metrics`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'no such route', code: 'not_found' });
  });

  it("logs a job's counters from its object once its terminal event went out", async () => {
    const job = await createWithKey(worker.url, 'counted --sim-steps 3 --sim-interval 100');
    const stream = await readSse(`${worker.url}/v1/jobs/midjourney-v3/${encodeURIComponent(job.jobId)}/stream`, { headers: withKey() });
    expect(stream.events.at(-1)?.data).toMatch(/"status":"completed"/);
    const key = `midjourney-v3:${job.jobId}`;
    const line = await until(() => statsLines().find((each) => each.job === key), { what: 'the job stats line', timeoutMs: 10_000 });
    const delivered = stream.events.filter((event) => event.event !== 'gap').length;
    expect(line).toMatchObject({ level: 'info', profile: 'midjourney-v3', when: 'terminal', ended: { job_ended: 1 } });
    expect(line.eventsReceived).toBeGreaterThanOrEqual(delivered);
    expect(line.eventsDelivered).toBe(delivered);
    expect(line.bytesSent).toBeGreaterThan(0);
    expect(line.upstreamStreams).toBeGreaterThanOrEqual(1);
    expect((line.lag as { count: number }).count).toBeGreaterThan(0);
    const text = JSON.stringify(line);
    for (const secret of [API_KEY, TOKEN_SECRET, job.token]) expect(text).not.toContain(secret);
  });
});
