import { describe, expect, it } from 'vitest';
import { findDecoded } from '../support/decode.ts';
import { type Captured, parsedFrames, runHostileScenario } from '../support/hostile-upstream.ts';
import { API_KEY, TOKEN_SECRET, withKey } from '../support/security.ts';

/** The upstream token a leak target is given (`UPSTREAM_TOKEN` or `SIM_TOKEN`), next to `SECURED`'s key and secret. */
export const CANARY = 'tok-LEAK-CANARY-1234';
/** The canary as it could slip out: raw, in part, base64 (alone and as a header value), percent-encoded. */
const FORMS = [
  CANARY,
  'LEAK-CANARY',
  Buffer.from(CANARY).toString('base64').replace(/=+$/, ''),
  Buffer.from(`Bearer ${CANARY}`).toString('base64').replace(/=+$/, ''),
  encodeURIComponent(CANARY),
];
const SECRETS = [CANARY, API_KEY, TOKEN_SECRET];

/** A relay on any runtime, with the lines it logged so far. */
export interface LeakTarget {
  url: string;
  /** Every log line (or chunk of lines) the relay wrote. */
  logs(): string[];
}

/** Every secret the relay knows must be absent from `text`, raw and decoded (JSON, percent, base64, hex). */
export function expectNothingDecodes(text: string, what: string) {
  for (const secret of SECRETS) {
    const decoded = findDecoded(text, secret);
    expect(decoded === undefined, `${what} decodes to a secret: ${decoded?.slice(0, 300)}`).toBe(true);
  }
}

/** No secret in any header, body, SSE frame or log line; at least `redactions` replies show the upstream's echo cut out. */
export function expectNoLeak(seen: Captured[], logs: string[], redactions = 10) {
  for (const captured of seen) {
    for (const form of FORMS) {
      expect(captured.headers, `${captured.what} headers`).not.toContain(form);
      expect(captured.body, `${captured.what} body`).not.toContain(form);
    }
    expectNothingDecodes(captured.headers, `${captured.what} headers`);
    // Each SSE frame, and the body as a whole.
    for (const frame of captured.body.split('\n\n')) expectNothingDecodes(frame, `${captured.what} frame`);
    expectNothingDecodes(captured.body, `${captured.what} body`);
  }
  expect(logs.join('').length).toBeGreaterThan(0);
  for (const line of logs) {
    for (const form of FORMS) expect(line, 'log line').not.toContain(form);
    expectNothingDecodes(line, 'log line');
  }
  // The upstream did echo the token and it was cut out (so the scenarios really exercised it).
  expect(seen.filter((c) => c.body.includes('[redacted]')).length).toBeGreaterThanOrEqual(redactions);
}

/**
 * Every route against a relay whose upstream (the simulator, at `upstreamUrl`, guarded by the canary)
 * echoes the token into every job object; returns everything a client saw.
 */
export async function runEverything(url: string, upstreamUrl: string): Promise<Captured[]> {
  const seen: Captured[] = [];
  async function call(what: string, path: string, init: RequestInit = {}): Promise<Captured> {
    const response = await fetch(`${url}${path}`, init);
    const captured = { what, status: response.status, headers: JSON.stringify([...response.headers]), body: await response.text() };
    seen.push(captured);
    return captured;
  }
  const create = (what: string, body: Record<string, unknown>, headers: Record<string, string> = withKey()) =>
    call(what, '/v3/midjourney/jobs/imagine', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const jobPath = (jobId: string) => `/v3/midjourney/jobs/${encodeURIComponent(jobId)}`;
  const echo = '--sim-echo-token --sim-steps 2 --sim-interval 5';

  // Success, streamed and not, with the upstream echoing the token into every job object.
  await create('stream success', { prompt: `a ${echo}` });
  const created = await create('stream:false', { prompt: `b ${echo}`, stream: false, replyUrl: 'https://hook.example/cb' });
  const job = JSON.parse(created.body) as { jobid: string; subscribe_token: string; stream_url: string };
  await call('subscribe', job.stream_url);
  await call('job from hub', `${jobPath(job.jobid)}?token=${job.subscribe_token}`);
  await call('job with API key', jobPath(job.jobid), { headers: withKey() });
  // Rejections before the stream, echoing the token in the error body.
  for (const status of [400, 401, 402, 429, 500, 596])
    await create(`reject ${status}`, { prompt: `c --sim-status ${status} --sim-echo-token` });
  // Malformed upstream lines, failing outcomes (the error text echoes the token), a dropped stream (polling).
  await create('garbage', { prompt: `d --sim-garbage ${echo}` });
  for (const outcome of ['failed', 'moderated', 'error'])
    await create(`outcome ${outcome}`, { prompt: `e --sim-outcome ${outcome} ${echo}` });
  await create('drop and poll', { prompt: `f --sim-drop-after 2 --sim-steps 3 --sim-interval 20 --sim-echo-token` });
  // A job created on the upstream directly: the relay proxies it and then follows it by polling.
  const direct = await fetch(`${upstreamUrl}/jobs/imagine`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${CANARY}` },
    body: JSON.stringify({ prompt: `g ${echo}`, stream: false }),
  });
  const directId = ((await direct.json()) as { jobid: string }).jobid;
  await call('proxied job', jobPath(directId), { headers: withKey() });
  await call('followed job stream', `${jobPath(directId)}/stream`, { headers: withKey() });
  // Proxied list and cancel, unknown jobs, token minting, health, metrics, errors.
  const running = await create('to cancel', { prompt: `h --sim-steps 30 --sim-interval 50 --sim-echo-token`, stream: false });
  await call('list', '/v3/midjourney/jobs', { headers: withKey() });
  await call('delete', jobPath((JSON.parse(running.body) as { jobid: string }).jobid), { method: 'DELETE', headers: withKey() });
  await call('delete unknown', jobPath('j0-unknown:midjourney'), { method: 'DELETE', headers: withKey() });
  await call('unknown job', jobPath('j0-unknown:midjourney'), { headers: withKey() });
  await call('unknown job stream', `${jobPath('j0-unknown:midjourney')}/stream`, { headers: withKey() });
  await call('tokens', '/v1/tokens', { method: 'POST', headers: withKey(), body: JSON.stringify({ jobs: [job.jobid] }) });
  await create('no key', { prompt: 'x' }, {});
  await create('bad body', { prompt: 42 });
  for (const path of ['/healthz', '/readyz', '/metrics', '/nope', `${jobPath('..%2f..')}/stream`])
    await call(path, path, { headers: withKey() });
  return seen;
}

/**
 * The upstream token never leaves, on every runtime: a relay with `SECURED`, `UPSTREAM_TOKEN=CANARY`
 * and `ALLOW_REPLY_URL=true` in front of the simulator at `upstreamUrl()` (which wants the canary).
 */
export function upstreamTokenLeakScenarios(t: () => LeakTarget, upstreamUrl: () => string): void {
  describe('the upstream token never leaves: separate upstream with UPSTREAM_URL + UPSTREAM_TOKEN', () => {
    it('forwards replyUrl when ALLOW_REPLY_URL=true', async () => {
      const created = await fetch(`${t().url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: withKey({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ prompt: 'w --sim-steps 1 --sim-interval 5', stream: false, replyUrl: 'https://hook.example/cb' }),
      });
      const { jobid } = (await created.json()) as { jobid: string };
      const upstream = await fetch(`${upstreamUrl()}/jobs/${encodeURIComponent(jobid)}`, {
        headers: { Authorization: `Bearer ${CANARY}` },
      });
      expect(((await upstream.json()) as { request: Record<string, unknown> }).request.replyUrl).toBe('https://hook.example/cb');
    });

    it('not in any response header or body, SSE frame or log line, in any scenario', async () => {
      const seen = await runEverything(t().url, upstreamUrl());
      expect(seen.find((c) => c.what === 'stream success')?.status).toBe(200);
      expectNoLeak(seen, t().logs());
    });
  });
}

/**
 * A relay with `SECURED` and `UPSTREAM_TOKEN=CANARY` in front of `startHostileUpstream(SECRETS)`, which
 * echoes every secret in every encoding: nothing decodable reaches a client or a log, on every runtime.
 */
export function hostileUpstreamLeakScenarios(t: () => LeakTarget): void {
  describe('a hostile upstream echoing every secret in every encoding (JSON escapes, base64, percent, hex)', () => {
    it('nothing decodable reaches subscribers, re-serialised replies or logs', async () => {
      const seen = await runHostileScenario(t().url);
      expect(seen.find((c) => c.what === 'stream')?.body.match(/^id: /gm)?.length).toBe(4);
      // A browser's JSON.parse of each frame restores no secret either.
      const frames = parsedFrames(seen);
      expect(frames.length).toBeGreaterThanOrEqual(8);
      for (const frame of frames) expectNothingDecodes(frame, 'parsed frame');
      expectNoLeak(seen, t().logs(), 8);
    }, 60_000);
  });
}

/** The secrets a hostile upstream for `hostileUpstreamLeakScenarios` echoes. */
export const LEAK_SECRETS: readonly string[] = SECRETS;
