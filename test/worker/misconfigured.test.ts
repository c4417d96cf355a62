import { afterAll, describe, expect, it } from 'vitest';
import { type WorkerDev, startWorkerDev } from '../../scripts/worker-dev.ts';

// As `wrangler deploy` would run it with secrets missing.
let dev: WorkerDev | undefined;
afterAll(async () => {
  await dev?.close();
});

describe('Worker deployed without GATEWAY_API_KEYS', () => {
  it('serves nothing: every request answers 503 naming what to set, no job can start', async () => {
    dev = await startWorkerDev({
      vars: { UPSTREAM_URL: 'http://127.0.0.1:9/v3/midjourney', UPSTREAM_TOKEN: 'test-token-123', LOG_LEVEL: 'warn' },
      isReady: (response) => response.status === 503,
    });
    const create = await fetch(`${dev.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"prompt":"x"}',
    });
    expect(create.status).toBe(503);
    const body = (await create.json()) as { error: string; code: string };
    expect(body.code).toBe('unavailable');
    expect(body.error).toContain('GATEWAY_API_KEYS: required');
    expect(body.error).not.toContain('test-token-123');
  }, 90_000);
});

describe('Worker deployed without any profile credential', () => {
  it('serves nothing: every request answers 503 naming the credentials to set', async () => {
    await dev?.close();
    dev = await startWorkerDev({
      vars: { GATEWAY_OPEN: 'true', UPSTREAM_URL: 'http://127.0.0.1:9/v3/midjourney', LOG_LEVEL: 'warn' },
      isReady: (response) => response.status === 503,
    });
    const health = await fetch(`${dev.url}/healthz`);
    expect(health.status).toBe(503);
    const body = (await health.json()) as { error: string; code: string };
    expect(body.code).toBe('unavailable');
    expect(body.error).toContain('no profile configured');
    for (const name of ['UPSTREAM_TOKEN', 'FAL_KEY', 'OPENAI_API_KEY']) expect(body.error).toContain(name);
  }, 90_000);
});
