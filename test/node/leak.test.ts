import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import { findDecoded } from '../support/decode.ts';
import type { FakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type Captured, parsedFrames, runHostileScenario, startHostileUpstream } from '../support/hostile-upstream.ts';
import { API_KEY, SECURED, TOKEN_SECRET, withKey } from '../support/security.ts';

const CANARY = 'tok-LEAK-CANARY-1234';
const FORMS = [
  CANARY,
  'LEAK-CANARY',
  Buffer.from(CANARY).toString('base64').replace(/=+$/, ''),
  Buffer.from(`Bearer ${CANARY}`).toString('base64').replace(/=+$/, ''),
  encodeURIComponent(CANARY),
];

/** Every scenario against one gateway; returns everything a client saw. */
async function runEverything(gw: TestGateway, upstreamUrl: string): Promise<Captured[]> {
  const seen: Captured[] = [];
  async function call(what: string, path: string, init: RequestInit = {}): Promise<Captured> {
    const response = await fetch(`${gw.url}${path}`, init);
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
  // A job created on the upstream directly: the gateway proxies it and then follows it by polling.
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

/** Every secret the gateway knows must be absent from `text`, raw and decoded (JSON, percent, base64, hex). */
function expectNothingDecodes(text: string, what: string) {
  for (const secret of [CANARY, API_KEY, TOKEN_SECRET]) {
    const decoded = findDecoded(text, secret);
    expect(decoded === undefined, `${what} decodes to a secret: ${decoded?.slice(0, 300)}`).toBe(true);
  }
}

function expectNoCanary(gw: TestGateway, seen: Captured[], redactions = 10) {
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
  expect(gw.logs.join('').length).toBeGreaterThan(0);
  for (const line of gw.logs) {
    for (const form of FORMS) expect(line, 'log line').not.toContain(form);
    expectNothingDecodes(line, 'log line');
  }
  // The upstream did echo the token and it was cut out (so the scenarios really exercised it).
  expect(seen.filter((c) => c.body.includes('[redacted]')).length).toBeGreaterThanOrEqual(redactions);
}

describe('the upstream token never leaves: in-process simulator with SIM_TOKEN', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ ...SECURED, SIM_TOKEN: CANARY, POLL_INTERVAL_MS: '30', LOG_LEVEL: 'trace' });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('not in any response header or body, SSE frame or log line, in any scenario', async () => {
    const seen = await runEverything(gw, gw.simulatorUrl as string);
    expect(seen.find((c) => c.what === 'stream success')?.status).toBe(200);
    expectNoCanary(gw, seen);
  });

  it('does not forward replyUrl (webhooks, under any spelling) or undocumented fields unless ALLOW_REPLY_URL=true', async () => {
    const created = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({
        prompt: 'w --sim-steps 1 --sim-interval 5',
        stream: false,
        replyUrl: 'https://hook.example/cb',
        replyURL: 'https://hook.example/cb',
        reply_url: 'https://hook.example/cb',
        webhookUrl: 'https://hook.example/cb',
        replyRef: 'r1',
        channel: 'leak-test',
      }),
    });
    const { jobid } = (await created.json()) as { jobid: string };
    const upstream = await fetch(`${gw.simulatorUrl}/jobs/${encodeURIComponent(jobid)}`, {
      headers: { Authorization: `Bearer ${CANARY}` },
    });
    const request = ((await upstream.json()) as { request: Record<string, unknown> }).request;
    // Only the vendor's documented fields are forwarded: no other spelling of a webhook reaches it.
    expect(Object.keys(request).sort()).toEqual(['channel', 'prompt', 'replyRef', 'stream']);
    expect(request.replyRef).toBe('r1');
  });
});

describe('the upstream token never leaves: separate upstream with UPSTREAM_URL + UPSTREAM_TOKEN', () => {
  let simulator: Simulator;
  let server: ServerType;
  let upstreamUrl: string;
  let gw: TestGateway;
  beforeAll(async () => {
    simulator = createSimulator({ token: CANARY, maxJobs: 1000 });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: simulator.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    upstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/midjourney`;
    gw = await startTestGateway({
      ...SECURED,
      UPSTREAM_URL: upstreamUrl,
      UPSTREAM_TOKEN: CANARY,
      POLL_INTERVAL_MS: '30',
      ALLOW_REPLY_URL: 'true',
    });
  });
  afterAll(async () => {
    await gw.close();
    simulator.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeAllConnections' in server) server.closeAllConnections();
    });
  });

  it('not in any response header or body, SSE frame or log line, in any scenario', async () => {
    const seen = await runEverything(gw, upstreamUrl);
    expect(seen.find((c) => c.what === 'stream success')?.status).toBe(200);
    expectNoCanary(gw, seen);
  });

  it('forwards replyUrl when ALLOW_REPLY_URL=true', async () => {
    const created = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ prompt: 'w --sim-steps 1 --sim-interval 5', stream: false, replyUrl: 'https://hook.example/cb' }),
    });
    const { jobid } = (await created.json()) as { jobid: string };
    const upstream = await fetch(`${upstreamUrl}/jobs/${encodeURIComponent(jobid)}`, { headers: { Authorization: `Bearer ${CANARY}` } });
    expect(((await upstream.json()) as { request: Record<string, unknown> }).request.replyUrl).toBe('https://hook.example/cb');
  });

  it('nor when the upstream is unreachable', async () => {
    const down = await startTestGateway({ ...SECURED, UPSTREAM_URL: 'http://127.0.0.1:9/v3/midjourney', UPSTREAM_TOKEN: CANARY });
    try {
      const response = await fetch(`${down.url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: withKey({ 'Content-Type': 'application/json' }),
        body: '{"prompt":"x"}',
      });
      expect(response.status).toBe(502);
      const text = (await response.text()) + JSON.stringify([...response.headers]) + down.logs.join('');
      for (const form of FORMS) expect(text).not.toContain(form);
    } finally {
      await down.close();
    }
  });
});

describe('a hostile upstream echoing every secret in every encoding (JSON escapes, base64, percent, hex)', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  beforeAll(async () => {
    upstream = await startHostileUpstream([CANARY, API_KEY, TOKEN_SECRET]);
    gw = await startTestGateway({
      ...SECURED,
      UPSTREAM_URL: upstream.url,
      UPSTREAM_TOKEN: CANARY,
      POLL_INTERVAL_MS: '30',
      LOG_LEVEL: 'trace',
    });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  it('nothing decodable reaches subscribers, re-serialised replies or logs', async () => {
    const seen = await runHostileScenario(gw.url);
    expect(seen.find((c) => c.what === 'stream')?.body.match(/^id: /gm)?.length).toBe(4);
    // A browser's JSON.parse of each frame restores no secret either.
    const frames = parsedFrames(seen);
    expect(frames.length).toBeGreaterThanOrEqual(8);
    for (const frame of frames) expectNothingDecodes(frame, 'parsed frame');
    expectNoCanary(gw, seen, 8);
  });
});
