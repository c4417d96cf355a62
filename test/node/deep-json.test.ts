import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, sseResponse, startFakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { SECURED, withKey } from '../support/security.ts';
import { readSse } from '../support/sse.ts';

/** 5,000 levels in 10 KB: enough to overflow JSON.stringify deep in a request. */
const deep = (levels = 5000) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

async function expectBadRequest(response: Response) {
  expect(response.status).toBe(400);
  const body = (await response.json()) as { code: string; error: string };
  expect(body.code).toBe('bad_request');
  expect(body.error).toMatch(/nests deeper than 32 levels/);
}

describe('deeply nested request bodies get 400, on every body-taking route', () => {
  let open: TestGateway;
  let secured: TestGateway;
  beforeAll(async () => {
    open = await startTestGateway();
    secured = await startTestGateway({ ...SECURED });
  });
  afterAll(async () => {
    await open.close();
    await secured.close();
  });

  const post = (gw: TestGateway, path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });

  it('create, streamed and not, open and with a key', async () => {
    const bodies = [`{"prompt":"x --sim-steps 1","x":${deep()}}`, `{"prompt":"x","stream":false,"x":${deep()}}`, deep()];
    for (const body of bodies) {
      await expectBadRequest(await post(open, '/v3/midjourney/jobs/imagine', body));
      await expectBadRequest(await post(secured, '/v3/midjourney/jobs/imagine', body, withKey()));
    }
    // Not counted as jobs: nothing reached the upstream.
    expect((await open.simStats()).jobs).toBe(0);
  });

  it('POST /v1/tokens', async () => {
    await expectBadRequest(await post(secured, '/v1/tokens', `{"jobs":["j1"],"x":${deep()}}`, withKey()));
    await expectBadRequest(await post(secured, '/v1/tokens', `{"jobs":${deep()}}`, withKey()));
  });

  it('32 levels are fine, and so is the upstream echo of them', async () => {
    const response = await post(open, '/v3/midjourney/jobs/imagine', `{"prompt":"x --sim-steps 1","stream":false,"x":${deep(31)}}`);
    expect(response.status).toBe(201);
    expect(((await response.json()) as { status: string }).status).toBe('created');
    await expectBadRequest(await post(open, '/v3/midjourney/jobs/imagine', `{"prompt":"x","x":${deep(32)}}`));
  });
});

describe('deeply nested upstream JSON never reaches a serialiser', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  const job = (status: string) => ({ jobid: 'j1-deep:midjourney', verb: 'imagine', status });
  beforeAll(async () => {
    upstream = await startFakeUpstream((request, path) => {
      if (request.method === 'POST' && path === '/jobs/imagine') {
        return sseResponse([
          JSON.stringify({ event: 'initialized', message: 'Stream initialized', jobId: 'j1-deep:midjourney', seq: 0 }),
          JSON.stringify({ event: 'midjourney_created', job: job('created'), seq: 1 }),
          `{"event":"midjourney_progress","seq":2,"job":{"jobid":"j1-deep:midjourney","status":"progress","x":${deep()}}}`,
          JSON.stringify({ event: 'midjourney_completed', job: job('completed'), seq: 3 }),
        ]);
      }
      return new Response(`{"x":${deep()}}`, { status: 200, headers: { 'Content-Type': 'application/json' } });
    });
    gw = await startTestGateway({ UPSTREAM_URL: upstream.url, UPSTREAM_TOKEN: 'tok-upstream-0123' });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  it('a too-deep event is dropped as malformed; the job goes on and its snapshot serialises', async () => {
    const result = await readSse(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"prompt":"x"}',
    });
    expect(result.status).toBe(200);
    expect(result.events.map((e) => e.id)).toEqual(['0', '1', '3']);
    expect(gw.relay.stats.eventsMalformed).toBe(1);
    const snapshot = await fetch(`${gw.url}/v3/midjourney/jobs/${encodeURIComponent('j1-deep:midjourney')}`);
    expect(snapshot.status).toBe(200);
    expect(((await snapshot.json()) as { status: string }).status).toBe('completed');
  });

  it('a too-deep reply is an upstream error (502), on every proxied route', async () => {
    for (const [method, path] of [
      ['GET', '/v3/midjourney/jobs/j2-unknown:midjourney'],
      ['GET', '/v3/midjourney/jobs'],
      ['DELETE', '/v3/midjourney/jobs/j2-unknown:midjourney'],
    ] as const) {
      const response = await fetch(`${gw.url}${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(502);
      expect(((await response.json()) as { code: string }).code).toBe('upstream_error');
    }
  });
});
