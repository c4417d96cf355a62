import { UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_AUDIENCE } from '../../src/core/auth/subscribe-token.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { API_KEY, SECURED, createWithKey, signToken, withKey } from '../support/security.ts';
import { readSse, streamUrl } from '../support/sse.ts';

let gw: TestGateway;
let pub: TestGateway;
beforeAll(async () => {
  [gw, pub] = await Promise.all([
    startTestGateway({ ...SECURED, CORS_ORIGINS: 'http://app.example,http://localhost:5173' }),
    startTestGateway({ ...SECURED, SUBSCRIBE_PUBLIC: 'true' }),
  ]);
});
afterAll(async () => {
  await Promise.all([gw.close(), pub.close()]);
});

async function expectError(response: Response, status: number, code: string, message?: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await response.json()) as { error: string; code: string };
  expect(body.code).toBe(code);
  if (message) expect(body.error).toMatch(message);
  if (status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
}

const lastEvent = (result: { events: { data: string }[] }) => (JSON.parse(result.events.at(-1)?.data ?? '{}') as { event?: string }).event;
const now = () => Math.floor(Date.now() / 1000);

describe('start-up warnings', () => {
  it('warns loudly when open and when tokens use a random secret; not when configured', async () => {
    const open = await startTestGateway({});
    try {
      const logs = open.logs.join('');
      expect(logs).toMatch(/"level":40.*GATEWAY_OPEN=true: the gateway is OPEN/);
      expect(logs).toMatch(/SUBSCRIBE_TOKEN_SECRET is not set/);
    } finally {
      await open.close();
    }
    expect(gw.logs.join('')).not.toMatch(/is not set/);
  });
});

describe('job creation needs an API key', () => {
  it('401 without a key or with a wrong one, JSON error and WWW-Authenticate', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: '{"prompt":"x"}',
      });
    await expectError(await post({}), 401, 'unauthorized', /API key is required/);
    await expectError(await post({ Authorization: `Bearer ${API_KEY}x` }), 401, 'unauthorized', /not valid/);
    await expectError(await post({ Authorization: API_KEY }), 401, 'unauthorized');
    await expectError(await post({ Cookie: `sse_relay_token=${API_KEY}` }), 401, 'unauthorized');
  });

  it('the create response carries a job-scoped token: header, subscribe_token and a ready stream_url', async () => {
    const created = await createWithKey(gw.url, 'ok --sim-steps 2 --sim-interval 10');
    expect(created.header).toBe(created.token);
    expect(created.streamUrl).toBe(`/v3/midjourney/jobs/${encodeURIComponent(created.jobId)}/stream?token=${created.token}`);
    const result = await readSse(`${gw.url}${created.streamUrl}`);
    expect(result.status).toBe(200);
    expect(lastEvent(result)).toBe('midjourney_completed');
  });

  it('a streaming create also returns X-Subscribe-Token', async () => {
    const result = await readSse(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ prompt: 's --sim-steps 1 --sim-interval 5' }),
    });
    expect(result.status).toBe(200);
    expect(result.headers.get('x-subscribe-token')).toMatch(/^ey/);
    expect(lastEvent(result)).toBe('midjourney_completed');
  });

  it('GET /jobs and DELETE need the API key', async () => {
    await expectError(await fetch(`${gw.url}/v3/midjourney/jobs`), 401, 'unauthorized');
    expect((await fetch(`${gw.url}/v3/midjourney/jobs`, { headers: withKey() })).status).toBe(200);
    const { jobId, token } = await createWithKey(gw.url, 'del --sim-steps 20 --sim-interval 50');
    const target = `${gw.url}/v3/midjourney/jobs/${encodeURIComponent(jobId)}`;
    await expectError(await fetch(`${target}?token=${token}`, { method: 'DELETE' }), 401, 'unauthorized');
    expect((await fetch(target, { method: 'DELETE', headers: withKey() })).status).toBe(200);
  });
});

describe('subscribing needs a token for that job', () => {
  let jobA: { jobId: string; token: string };
  let jobB: { jobId: string; token: string };
  beforeAll(async () => {
    [jobA, jobB] = await Promise.all([
      createWithKey(gw.url, 'a --sim-steps 1 --sim-interval 5'),
      createWithKey(gw.url, 'b --sim-steps 1 --sim-interval 5'),
    ]);
  });

  it('missing token: 401', async () => {
    await expectError(await fetch(streamUrl(gw.url, jobA.jobId)), 401, 'unauthorized', /token is required/);
    await expectError(await fetch(`${gw.url}/v3/midjourney/jobs/${encodeURIComponent(jobA.jobId)}`), 401, 'unauthorized');
  });

  it('a token for job A never opens job B: 403', async () => {
    await expectError(await fetch(streamUrl(gw.url, jobB.jobId, `?token=${jobA.token}`)), 403, 'forbidden', /does not cover/);
    await expectError(await fetch(`${gw.url}/v3/midjourney/jobs/${encodeURIComponent(jobB.jobId)}?token=${jobA.token}`), 403, 'forbidden');
  });

  it('expired, tampered, foreign-secret and alg:none tokens: 401 saying why', async () => {
    const expired = await signToken({ jobs: [jobA.jobId], exp: now() - 5 });
    await expectError(await fetch(streamUrl(gw.url, jobA.jobId, `?token=${expired}`)), 401, 'unauthorized', /expired/);
    const [h, p, s] = jobA.token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), jobs: [jobB.jobId] })).toString(
      'base64url',
    );
    await expectError(await fetch(streamUrl(gw.url, jobB.jobId, `?token=${h}.${forged}.${s}`)), 401, 'unauthorized', /signature/);
    const foreign = await signToken({ jobs: [jobA.jobId], exp: now() + 60 }, 'another-secret-0123456789abcdef-xyz');
    await expectError(await fetch(streamUrl(gw.url, jobA.jobId, `?token=${foreign}`)), 401, 'unauthorized', /signature/);
    const none = new UnsecuredJWT({ jobs: [jobA.jobId] }).setAudience(TOKEN_AUDIENCE).setIssuedAt().setExpirationTime('1h').encode();
    await expectError(await fetch(streamUrl(gw.url, jobA.jobId, `?token=${none}`)), 401, 'unauthorized', /algorithm/);
    await expectError(await fetch(streamUrl(gw.url, jobA.jobId, '?token=garbage')), 401, 'unauthorized', /malformed/);
  });

  it('accepts the token as ?token=, Authorization: Bearer or cookie, and the API key itself', async () => {
    const forms: [string, Record<string, string>][] = [
      [`?token=${jobA.token}`, {}],
      ['', { Authorization: `Bearer ${jobA.token}` }],
      ['', { Cookie: `other=1; sse_relay_token=${jobA.token}` }],
      ['', withKey()],
    ];
    for (const [query, headers] of forms) {
      const result = await readSse(streamUrl(gw.url, jobA.jobId, query), { headers });
      expect(result.status).toBe(200);
      expect(lastEvent(result)).toBe('midjourney_completed');
    }
    const job = await fetch(`${gw.url}/v3/midjourney/jobs/${encodeURIComponent(jobA.jobId)}`, {
      headers: { Authorization: `Bearer ${jobA.token}` },
    });
    expect(((await job.json()) as { status: string }).status).toBe('completed');
  });

  it('POST /v1/tokens mints one token for several jobs with a TTL, only with an API key', async () => {
    const mint = (body: unknown, headers: Record<string, string> = withKey()) =>
      fetch(`${gw.url}/v1/tokens`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    await expectError(await mint({ jobs: [jobA.jobId] }, {}), 401, 'unauthorized');
    await expectError(await mint({ jobs: [jobA.jobId] }, { Authorization: `Bearer ${jobA.token}` }), 401, 'unauthorized');
    await expectError(await mint({ jobs: [] }), 400, 'bad_request');
    await expectError(await mint({ jobs: ['../etc/passwd'] }), 400, 'bad_request');
    await expectError(await mint({ jobs: [jobA.jobId], ttl_s: 0 }), 400, 'bad_request');
    const response = await mint({ jobs: [jobA.jobId, jobB.jobId], ttl_s: 120 });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { token: string; expires_in: number; expires_at: number; stream_urls: Record<string, string> };
    expect(body.expires_in).toBe(120);
    expect(body.expires_at - now()).toBeGreaterThan(100);
    for (const jobId of [jobA.jobId, jobB.jobId]) {
      expect((await readSse(`${gw.url}${body.stream_urls[jobId]}`)).status).toBe(200);
    }
  });

  it('SUBSCRIBE_PUBLIC=true opens reading, not creating', async () => {
    const { jobId } = await createWithKey(pub.url, 'p --sim-steps 1 --sim-interval 5');
    expect(lastEvent(await readSse(streamUrl(pub.url, jobId)))).toBe('midjourney_completed');
    await expectError(
      await fetch(`${pub.url}/v3/midjourney/jobs/imagine`, { method: 'POST', body: '{"prompt":"x"}' }),
      401,
      'unauthorized',
    );
  });
});

describe('CORS allowlist', () => {
  const preflight = (origin: string, method = 'GET') =>
    fetch(`${gw.url}/v3/midjourney/jobs/abc/stream`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': 'authorization,last-event-id' },
    });

  it('answers a preflight from an allowed origin with that origin, credentials, methods and headers', async () => {
    const response = await preflight('http://app.example', 'POST');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://app.example');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(response.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(response.headers.get('access-control-allow-headers')).toMatch(/Last-Event-ID/);
    expect(response.headers.get('vary')).toMatch(/Origin/);
  });

  it('refuses a preflight from any other origin, without CORS headers', async () => {
    for (const origin of ['http://evil.example', 'http://app.example.evil', 'null', 'http://APP.example']) {
      const response = await preflight(origin);
      await expectError(response, 403, 'forbidden');
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('adds CORS headers to actual responses (SSE and errors) only for allowed origins', async () => {
    const { jobId, token } = await createWithKey(gw.url, 'cors --sim-steps 1 --sim-interval 5');
    const allowed = await readSse(streamUrl(gw.url, jobId, `?token=${token}`), { headers: { Origin: 'http://localhost:5173' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const denied = await readSse(streamUrl(gw.url, jobId, `?token=${token}`), { headers: { Origin: 'http://evil.example' } });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    expect(denied.headers.get('access-control-allow-credentials')).toBeNull();
    const error = await fetch(streamUrl(gw.url, jobId), { headers: { Origin: 'http://app.example' } });
    expect(error.status).toBe(401);
    expect(error.headers.get('access-control-allow-origin')).toBe('http://app.example');
    expect(error.headers.get('access-control-expose-headers')).toMatch(/X-Subscribe-Token/);
  });
});

describe('create input limits', () => {
  it('rejects a prompt over MAX_PROMPT_CHARS and a non-string prompt', async () => {
    const post = (body: unknown) =>
      fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: withKey({ 'Content-Type': 'application/json' }),
        body: JSON.stringify(body),
      });
    await expectError(await post({ prompt: 'x'.repeat(5001) }), 400, 'bad_request', /5000/);
    await expectError(await post({ prompt: 42 }), 400, 'bad_request');
  });
});
