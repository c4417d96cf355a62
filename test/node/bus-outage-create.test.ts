import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { until } from '../support/until.ts';

// Errors keep their cause: with the bus down, a create cannot store its job, and says so (503),
// not that the upstream broke.
let redis: RedisServer;
let gw: TestGateway;
beforeAll(async () => {
  redis = await startRedisServer();
  gw = await startTestGateway({ REDIS_URL: redis.url, LOG_LEVEL: 'warn' });
});
afterAll(async () => {
  await gw?.close();
  await redis?.stop();
});

const create = (stream: boolean) =>
  fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'outage --sim-steps 2 --sim-interval 10', stream }),
  });

describe('a create while Redis is down', () => {
  it('answers 503 unavailable, for streaming and JSON creates, and works again once Redis is back', async () => {
    const before = await create(false);
    expect(before.status).toBe(201);
    await redis.stop();
    for (const stream of [false, true]) {
      const response = await create(stream);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      const body = (await response.json()) as { code: string; error: string };
      expect(body.code).toBe('unavailable');
      expect(body.error).not.toMatch(/upstream/);
    }
    await redis.start();
    const created = async () => {
      const response = await create(false);
      if (response.status !== 201) await response.body?.cancel();
      return response.status === 201;
    };
    await until(created, { timeoutMs: 30_000, intervalMs: 200, what: 'creates to recover' });
  }, 120_000);
});
