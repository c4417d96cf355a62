import { UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_AUDIENCE } from '../../src/core/auth/subscribe-token.ts';
import { API_KEY, SECURED, createWithKey, signToken, withKey } from '../support/security.ts';
import { readSse, streamUrl } from '../support/sse.ts';
import type { ScenarioTarget } from './target.ts';

/** What the target runs with: API keys and a token secret (`SECURED`), two allowed origins. */
export const ACCESS_ENV: Record<string, string> = { ...SECURED, CORS_ORIGINS: 'http://app.example,http://localhost:5173' };

/** Asserts a JSON error with its status and code (and message); a 401 also says `WWW-Authenticate: Bearer`. */
export async function expectError(response: Response, status: number, code: string, message?: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await response.json()) as { error: string; code: string };
  expect(body.code).toBe(code);
  if (message) expect(body.error).toMatch(message);
  if (status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
}

/** The `event` of a read's last frame. */
export const lastEvent = (result: { events: { data: string }[] }) =>
  (JSON.parse(result.events.at(-1)?.data ?? '{}') as { event?: string }).event;

const now = () => Math.floor(Date.now() / 1000);

/**
 * Access control is the shared app's on every runtime: API keys for creating, job-scoped tokens for
 * reading, minted tokens, the CORS allowlist and input limits. The target runs with `ACCESS_ENV`.
 */
export function accessScenarios(t: () => ScenarioTarget): void {
  describe('job creation needs an API key', () => {
    it('401 without a key or with a wrong one, JSON error and WWW-Authenticate', async () => {
      const post = (headers: Record<string, string>) =>
        fetch(`${t().url}/v3/midjourney/jobs/imagine`, {
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
      const created = await createWithKey(t().url, 'ok --sim-steps 2 --sim-interval 10');
      expect(created.header).toBe(created.token);
      expect(created.streamUrl).toBe(`/v3/midjourney/jobs/${encodeURIComponent(created.jobId)}/stream?token=${created.token}`);
      const result = await readSse(`${t().url}${created.streamUrl}`);
      expect(result.status).toBe(200);
      expect(lastEvent(result)).toBe('midjourney_completed');
    });

    it('a streaming create also returns X-Subscribe-Token', async () => {
      const result = await readSse(`${t().url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: withKey({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ prompt: 's --sim-steps 1 --sim-interval 5' }),
      });
      expect(result.status).toBe(200);
      expect(result.headers.get('x-subscribe-token')).toMatch(/^ey/);
      expect(lastEvent(result)).toBe('midjourney_completed');
      // A token signed elsewhere with the shared secret opens the same job and replays the same events.
      const jobId = result.headers.get('x-job-id') as string;
      const token = await signToken({ jobs: [jobId], exp: now() + 60 });
      const again = await readSse(streamUrl(t().url, jobId), { headers: { Authorization: `Bearer ${token}` } });
      expect(again.events.map((e) => e.data)).toEqual(result.events.map((e) => e.data));
    });

    it('GET /jobs and DELETE need the API key', async () => {
      await expectError(await fetch(`${t().url}/v3/midjourney/jobs`), 401, 'unauthorized');
      expect((await fetch(`${t().url}/v3/midjourney/jobs`, { headers: withKey() })).status).toBe(200);
      const { jobId, token } = await createWithKey(t().url, 'del --sim-steps 20 --sim-interval 50');
      const target = `${t().url}/v3/midjourney/jobs/${encodeURIComponent(jobId)}`;
      await expectError(await fetch(`${target}?token=${token}`, { method: 'DELETE' }), 401, 'unauthorized');
      expect((await fetch(target, { method: 'DELETE', headers: withKey() })).status).toBe(200);
    });
  });

  describe('subscribing needs a token for that job', () => {
    let jobA: { jobId: string; token: string };
    let jobB: { jobId: string; token: string };
    beforeAll(async () => {
      [jobA, jobB] = await Promise.all([
        createWithKey(t().url, 'a --sim-steps 1 --sim-interval 5'),
        createWithKey(t().url, 'b --sim-steps 1 --sim-interval 5'),
      ]);
    });

    it('missing token: 401', async () => {
      await expectError(await fetch(streamUrl(t().url, jobA.jobId)), 401, 'unauthorized', /token is required/);
      await expectError(await fetch(`${t().url}/v3/midjourney/jobs/${encodeURIComponent(jobA.jobId)}`), 401, 'unauthorized');
    });

    it('a token for job A never opens job B: 403; the API key does', async () => {
      await expectError(await fetch(streamUrl(t().url, jobB.jobId, `?token=${jobA.token}`)), 403, 'forbidden', /does not cover/);
      await expectError(
        await fetch(`${t().url}/v3/midjourney/jobs/${encodeURIComponent(jobB.jobId)}?token=${jobA.token}`),
        403,
        'forbidden',
      );
      expect((await fetch(`${t().url}/v3/midjourney/jobs/${encodeURIComponent(jobB.jobId)}`, { headers: withKey() })).status).toBe(200);
    });

    it('expired, tampered, foreign-secret and alg:none tokens: 401 saying why', async () => {
      const expired = await signToken({ jobs: [jobA.jobId], exp: now() - 5 });
      await expectError(await fetch(streamUrl(t().url, jobA.jobId, `?token=${expired}`)), 401, 'unauthorized', /expired/);
      const [h, p, s] = jobA.token.split('.') as [string, string, string];
      const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), jobs: [jobB.jobId] })).toString(
        'base64url',
      );
      await expectError(await fetch(streamUrl(t().url, jobB.jobId, `?token=${h}.${forged}.${s}`)), 401, 'unauthorized', /signature/);
      const foreign = await signToken({ jobs: [jobA.jobId], exp: now() + 60 }, 'another-secret-0123456789abcdef-xyz');
      await expectError(await fetch(streamUrl(t().url, jobA.jobId, `?token=${foreign}`)), 401, 'unauthorized', /signature/);
      const none = new UnsecuredJWT({ jobs: [jobA.jobId] }).setAudience(TOKEN_AUDIENCE).setIssuedAt().setExpirationTime('1h').encode();
      await expectError(await fetch(streamUrl(t().url, jobA.jobId, `?token=${none}`)), 401, 'unauthorized', /algorithm/);
      await expectError(await fetch(streamUrl(t().url, jobA.jobId, '?token=garbage')), 401, 'unauthorized', /malformed/);
    });

    it('accepts the token as ?token=, Authorization: Bearer or cookie, and the API key itself', async () => {
      const forms: [string, Record<string, string>][] = [
        [`?token=${jobA.token}`, {}],
        ['', { Authorization: `Bearer ${jobA.token}` }],
        ['', { Cookie: `other=1; sse_relay_token=${jobA.token}` }],
        ['', withKey()],
      ];
      for (const [query, headers] of forms) {
        const result = await readSse(streamUrl(t().url, jobA.jobId, query), { headers });
        expect(result.status).toBe(200);
        expect(lastEvent(result)).toBe('midjourney_completed');
      }
      const job = await fetch(`${t().url}/v3/midjourney/jobs/${encodeURIComponent(jobA.jobId)}`, {
        headers: { Authorization: `Bearer ${jobA.token}` },
      });
      expect(((await job.json()) as { status: string }).status).toBe('completed');
    });

    it('POST /v1/tokens mints one token for several jobs with a TTL, only with an API key', async () => {
      const mint = (body: unknown, headers: Record<string, string> = withKey()) =>
        fetch(`${t().url}/v1/tokens`, {
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
      const body = (await response.json()) as {
        token: string;
        expires_in: number;
        expires_at: number;
        stream_urls: Record<string, string>;
      };
      expect(body.expires_in).toBe(120);
      expect(body.expires_at - now()).toBeGreaterThan(100);
      for (const jobId of [jobA.jobId, jobB.jobId]) {
        expect((await readSse(`${t().url}${body.stream_urls[jobId]}`)).status).toBe(200);
      }
    });
  });

  describe('CORS allowlist', () => {
    const preflight = (origin: string, method = 'GET') =>
      fetch(`${t().url}/v3/midjourney/jobs/abc/stream`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': method,
          'Access-Control-Request-Headers': 'authorization,last-event-id',
        },
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
      const { jobId, token } = await createWithKey(t().url, 'cors --sim-steps 1 --sim-interval 5');
      const allowed = await readSse(streamUrl(t().url, jobId, `?token=${token}`), { headers: { Origin: 'http://localhost:5173' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
      const denied = await readSse(streamUrl(t().url, jobId, `?token=${token}`), { headers: { Origin: 'http://evil.example' } });
      expect(denied.headers.get('access-control-allow-origin')).toBeNull();
      expect(denied.headers.get('access-control-allow-credentials')).toBeNull();
      const error = await fetch(streamUrl(t().url, jobId), { headers: { Origin: 'http://app.example' } });
      expect(error.status).toBe(401);
      expect(error.headers.get('access-control-allow-origin')).toBe('http://app.example');
      expect(error.headers.get('access-control-expose-headers')).toMatch(/X-Subscribe-Token/);
    });
  });

  describe('create input limits', () => {
    it('rejects a prompt over MAX_PROMPT_CHARS and a non-string prompt', async () => {
      const post = (body: unknown) =>
        fetch(`${t().url}/v3/midjourney/jobs/imagine`, {
          method: 'POST',
          headers: withKey({ 'Content-Type': 'application/json' }),
          body: JSON.stringify(body),
        });
      await expectError(await post({ prompt: 'x'.repeat(5001) }), 400, 'bad_request', /5000/);
      await expectError(await post({ prompt: 42 }), 400, 'bad_request');
    });
  });
}
