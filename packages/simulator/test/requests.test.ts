import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, postJob, startSimulator } from './helpers.ts';
import type { RunningSimulator } from './helpers.ts';

let open: RunningSimulator;
let locked: RunningSimulator;

beforeAll(async () => {
  open = await startSimulator();
  locked = await startSimulator({ token: 'secret' });
});
afterAll(async () => {
  await open.close();
  await locked.close();
});

async function expectError(response: Response, status: number, error?: string | RegExp): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: unknown };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  if (typeof error === 'string') expect(body.error).toBe(error);
  else if (error) expect(body.error).toMatch(error);
}

describe('auth', () => {
  const imagine = JSON.stringify({ prompt: 'a cat', stream: false });

  it.each([
    ['no header', {}],
    ['an empty bearer', { Authorization: 'Bearer ' }],
    ['a bearer of spaces', { Authorization: 'Bearer    ' }],
    ['another scheme', { Authorization: 'Basic dXNlcjpwdw==' }],
  ])('401s with %s on every vendor path', async (_, headers: Record<string, string>) => {
    await expectError(await fetch(`${open.base}/jobs/imagine`, { method: 'POST', headers, body: imagine }), 401, 'Unauthorized');
    await expectError(await fetch(`${open.base}/jobs`, { headers }), 401, 'Unauthorized');
    await expectError(await fetch(`${open.base}/jobs/j1:midjourney`, { headers }), 401, 'Unauthorized');
    await expectError(await fetch(`${open.base}/jobs/j1:midjourney`, { method: 'DELETE', headers }), 401, 'Unauthorized');
  });

  it('accepts any non-empty token when none is configured', async () => {
    expect((await fetch(`${open.base}/jobs`, { headers: authHeaders('anything') })).status).toBe(200);
  });

  it('accepts only the configured token', async () => {
    await expectError(await fetch(`${locked.base}/jobs`, { headers: authHeaders('wrong') }), 401, 'Unauthorized');
    expect((await fetch(`${locked.base}/jobs`, { headers: authHeaders('secret') })).status).toBe(200);
  });

  it('leaves /_sim routes open, at the root and under the base path', async () => {
    expect((await fetch(`${locked.origin}/_sim/stats`)).status).toBe(200);
    expect((await fetch(`${locked.base}/_sim/stats`)).status).toBe(200);
  });
});

describe('bad requests', () => {
  it('404s an unknown verb', async () => {
    await expectError(await postJob(open.base, 'upscale', { prompt: 'a cat' }), 404, 'Unknown verb: upscale');
  });

  it('404s unknown paths', async () => {
    await expectError(await fetch(`${open.origin}/elsewhere`), 404);
  });

  it.each([
    ['invalid JSON', '{"prompt":', 'Body is not valid JSON'],
    ['a JSON array', '["a cat"]', 'Body must be a JSON object'],
    ['no prompt', '{}', 'prompt is required'],
    ['an empty prompt', '{"prompt":"  "}', 'prompt is required'],
    ['a numeric prompt', '{"prompt":5}', 'prompt is required'],
    ['a prompt over 5000 characters', JSON.stringify({ prompt: 'x'.repeat(5001) }), 'prompt is longer than 5000 characters'],
    ['a non-boolean stream', '{"prompt":"a cat","stream":"yes"}', 'stream must be a boolean'],
    ['an empty channel', '{"prompt":"a cat","channel":""}', 'channel must be a non-empty string'],
    ['an unknown directive', '{"prompt":"a cat --sim-warp 9"}', 'Unknown directive --sim-warp'],
    ['a bad directive value', '{"prompt":"a cat --sim-outcome maybe"}', /--sim-outcome expects/],
  ])('400s imagine with %s', async (_, body, error) => {
    await expectError(await fetch(`${open.base}/jobs/imagine`, { method: 'POST', headers: authHeaders(), body }), 400, error);
  });

  it('400s a button without jobId or button', async () => {
    await expectError(await postJob(open.base, 'button', { jobId: 'j1' }), 400, 'button is required');
    await expectError(await postJob(open.base, 'button', { button: 'U1' }), 400, 'jobId is required');
  });

  it('accepts a prompt of exactly 5000 characters', async () => {
    const response = await postJob(open.base, 'imagine', { prompt: 'x'.repeat(5000), stream: false, channel: 'long' });
    expect(response.status).toBe(201);
  });
});

describe('--sim-status', () => {
  it.each([401, 402, 429, 500, 596])('answers %i with a JSON error before any stream', async (status) => {
    const response = await postJob(open.base, 'imagine', { prompt: `a cat --sim-status ${status}` });
    await expectError(response, status);
  });

  it('creates no job', async () => {
    const before = open.sim.stats().jobs;
    await (await postJob(open.base, 'imagine', { prompt: 'a cat --sim-status 500' })).text();
    expect(open.sim.stats().jobs).toBe(before);
  });

  it('echoes the caller token with --sim-echo-token', async () => {
    const response = await fetch(`${open.base}/jobs/imagine`, {
      method: 'POST',
      headers: authHeaders('leaky-token-123'),
      body: JSON.stringify({ prompt: 'a cat --sim-status 402 --sim-echo-token' }),
    });
    await expectError(response, 402, /leaky-token-123/);
  });
});
