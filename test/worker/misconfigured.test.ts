import { afterAll, describe, expect, it } from 'vitest';
import { type WorkerDev, startWorkerDev } from '../../scripts/worker-dev.ts';

// As `wrangler deploy` would run it with no secrets set: no API keys and no explicit GATEWAY_OPEN.
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
