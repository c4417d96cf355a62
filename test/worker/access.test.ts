import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, SECURED, createWithKey, holdStream, signToken, withKey } from '../support/security.ts';
import { readSse, streamUrl } from '../support/sse.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// Access control on the Worker is the shared app's: API keys, job-scoped tokens, CORS.
let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker({
    ...SECURED,
    CORS_ORIGINS: 'http://app.example',
    POLL_INTERVAL_MS: '30',
    MAX_SUBSCRIBERS_PER_IP: '2',
    MAX_STREAM_MS: '2000',
  });
});
afterAll(async () => {
  await worker?.close();
});

const lastEvent = (result: { events: { data: string }[] }) => (JSON.parse(result.events.at(-1)?.data ?? '{}') as { event?: string }).event;

describe('Worker: access control', () => {
  it('refuses a create without a valid API key: 401 JSON with WWW-Authenticate', async () => {
    const variants: Record<string, string>[] = [{}, { Authorization: `Bearer ${API_KEY}x` }];
    for (const headers of variants) {
      const response = await fetch(`${worker.url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: '{"prompt":"x"}',
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await response.json()) as { code: string }).code).toBe('unauthorized');
    }
  });

  it('issues a job-scoped token that opens that job only', async () => {
    const a = await createWithKey(worker.url, 'a --sim-steps 2 --sim-interval 10');
    const b = await createWithKey(worker.url, 'b --sim-steps 1 --sim-interval 10');
    expect(a.header).toBe(a.token);
    const result = await readSse(`${worker.url}${a.streamUrl}`);
    expect(result.status).toBe(200);
    expect(lastEvent(result)).toBe('midjourney_completed');
    expect((await fetch(streamUrl(worker.url, a.jobId))).status).toBe(401);
    expect((await fetch(streamUrl(worker.url, b.jobId, `?token=${a.token}`))).status).toBe(403);
    expect((await fetch(`${worker.url}/v3/midjourney/jobs/${encodeURIComponent(b.jobId)}`, { headers: withKey() })).status).toBe(200);
  });

  it('accepts a token signed elsewhere with the shared secret, and returns one on a streaming create', async () => {
    const created = await readSse(`${worker.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ prompt: 's --sim-steps 1 --sim-interval 10' }),
    });
    expect(created.headers.get('x-subscribe-token')).toMatch(/^ey/);
    const jobId = created.headers.get('x-job-id') as string;
    const token = await signToken({ jobs: [jobId], exp: Math.floor(Date.now() / 1000) + 60 });
    const again = await readSse(streamUrl(worker.url, jobId), { headers: { Authorization: `Bearer ${token}` } });
    expect(again.events.map((e) => e.data)).toEqual(created.events.map((e) => e.data));
  });

  it('adds CORS headers to SSE responses for an allowed origin only', async () => {
    const job = await createWithKey(worker.url, 'cors --sim-steps 1 --sim-interval 10');
    const allowed = await readSse(`${worker.url}${job.streamUrl}`, { headers: { Origin: 'http://app.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.example');
    const other = await readSse(`${worker.url}${job.streamUrl}`, { headers: { Origin: 'http://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("gets a vanished client's subscriber slot back within MAX_STREAM_MS, without the abort signal", async () => {
    const job = await createWithKey(worker.url, 'held --sim-steps 60 --sim-interval 100');
    const url = `${worker.url}${job.streamUrl}`;
    const [a, b] = [await holdStream(url), await holdStream(url)];
    expect([a.response.status, b.response.status]).toEqual([200, 200]);
    expect((await fetch(url)).status).toBe(429);
    a.close();
    let again: Awaited<ReturnType<typeof holdStream>> | undefined;
    for (let i = 0; i < 50 && !again; i++) {
      const attempt = await holdStream(url);
      if (attempt.response.status === 200) again = attempt;
      else {
        attempt.close();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    expect(again?.response.status).toBe(200);
    b.close();
    again?.close();
  });
});
