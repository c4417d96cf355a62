import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { createJobId, readSse, streamUrl } from '../support/sse.ts';
import { until } from '../support/until.ts';

let redis: RedisServer;
let gw: TestGateway;
beforeAll(async () => {
  redis = await startRedisServer();
  gw = await startTestGateway({ REDIS_URL: redis.url, POLL_INTERVAL_MS: '50' });
});
afterAll(async () => {
  await gw?.close();
  await redis?.stop();
});

async function readyz(): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${gw.url}/readyz`);
  return { status: response.status, body: await response.json() };
}

describe('gateway with REDIS_URL', () => {
  it('uses the Redis bus and says so, without logging the URL', async () => {
    const line = gw.logs.find((l) => l.includes('sse-relay listening'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ bus: 'redis' });
    expect(gw.logs.join('')).not.toContain(redis.url);
  });

  it('streams a job through Redis and serves its snapshot', async () => {
    const jobId = await createJobId(gw.url, 'r --sim-steps 2 --sim-interval 5');
    const result = await readSse(streamUrl(gw.url, jobId));
    expect(JSON.parse(result.events.at(-1)?.data ?? '{}')).toMatchObject({ event: 'midjourney_completed' });
    const polls = (await gw.simStats()).polls[jobId] ?? 0;
    const response = await fetch(`${gw.url}/v3/midjourney/jobs/${encodeURIComponent(jobId)}`);
    expect(await response.json()).toMatchObject({ jobid: jobId, status: 'completed' });
    expect((await gw.simStats()).polls[jobId] ?? 0).toBe(polls);
  });

  it('reports Redis reachability on /readyz and answers 503 while Redis is down, then recovers', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { ok: true, bus: 'reachable' } });
    const created = await gw.simulator?.fetch(
      new Request('http://sim/v3/midjourney/jobs/imagine', {
        method: 'POST',
        headers: { Authorization: 'Bearer simulator', 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: 'outage --sim-steps 2 --sim-interval 50', stream: false }),
      }),
    );
    const jobId = ((await created!.json()) as { jobid: string }).jobid;

    await redis.stop();
    expect(await readyz()).toEqual({ status: 503, body: { ok: false, bus: 'unreachable' } });
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const refused = await fetch(streamUrl(gw.url, jobId));
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: 'event bus unavailable', code: 'unavailable' });

    await redis.start();
    await until(readyz, (ready) => ready.status === 200, { timeoutMs: 10_000, intervalMs: 50, what: 'ready again' });
    expect((await readyz()).status).toBe(200);
    // The same job on the same instance: its hub must not stay broken by the failed attempt.
    const result = await readSse(streamUrl(gw.url, jobId));
    expect(result.status).toBe(200);
    expect(JSON.parse(result.events.at(-1)?.data ?? '{}')).toMatchObject({ event: 'midjourney_completed' });
  });
});

describe('two gateways on one Redis with a short history', () => {
  it('announces trimmed events with a gap frame on the other instance', async () => {
    const env = { REDIS_URL: redis.url, HISTORY_MAX_EVENTS: '5', LOG_LEVEL: 'warn' };
    const [creator, other] = await Promise.all([startTestGateway(env), startTestGateway(env)]);
    try {
      const jobId = await createJobId(creator.url, 'trim --sim-steps 10 --sim-interval 5');
      const full = await readSse(streamUrl(creator.url, jobId));
      const lastId = Number(full.events.at(-1)?.id);
      const resumed = await readSse(streamUrl(other.url, jobId, '?since=1'));
      expect(resumed.events[0]).toMatchObject({ event: 'gap', data: JSON.stringify({ from: 2, to: lastId - 5 }) });
      expect(resumed.events.slice(1).map((e) => Number(e.id))).toEqual([0, 1, 2, 3, 4].map((i) => lastId - 4 + i));
    } finally {
      await Promise.all([creator.close(), other.close()]);
    }
  });
});
