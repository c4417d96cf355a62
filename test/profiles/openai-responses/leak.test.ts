import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, createSimulator, maskKey } from '@sse-relay/simulator';
import { findDecoded } from '../../support/decode.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { API_KEY, SECURED, TOKEN_SECRET, withKey } from '../../support/security.ts';

/** The vendor key the gateway holds; the simulator accepts only it and echoes it on `--sim-echo-token`. */
const CANARY = 'sk-LEAK-CANARY-openai-0123456789';
/** A key the simulator refuses: its 401 shows the key masked (first 3 and last 4 characters). */
// Ends in letters no timestamp, pid or UUID holds: its last four are looked for in every log line.
const WRONG = 'sk-WRONG-vendor-key-9876zxQv';

interface Captured {
  what: string;
  status: number;
  headers: string;
  body: string;
}

/** Every OpenAI-path scenario against one gateway; returns everything a client received. */
async function runEverything(gw: TestGateway): Promise<Captured[]> {
  const seen: Captured[] = [];
  async function call(what: string, path: string, init: RequestInit = {}): Promise<Captured> {
    const response = await fetch(`${gw.url}${path}`, {
      ...init,
      headers: withKey({ 'Content-Type': 'application/json', ...(init.headers as object) }),
    });
    const captured = { what, status: response.status, headers: JSON.stringify([...response.headers]), body: await response.text() };
    seen.push(captured);
    return captured;
  }
  const create = (what: string, input: string, extra: Record<string, unknown> = {}) =>
    call(what, '/openai/v1/responses', { method: 'POST', body: JSON.stringify({ model: 'gpt-4o', input, background: true, ...extra }) });
  const echo = '--sim-echo-token --sim-steps 2 --sim-interval 5';

  const streamed = await create('stream success', `a ${echo}`, { stream: true });
  const id = /"id":"(resp_[0-9a-f]+)"/.exec(streamed.body)?.[1] as string;
  await call('retrieve', `/openai/v1/responses/${id}`);
  await call('retrieve stream', `/openai/v1/responses/${id}?stream=true`);
  await call('uniform stream', `/v1/jobs/openai-responses/${id}/stream`);
  const json = await create('stream:false', `b ${echo}`);
  await create('blocking stream:false', `b2 ${echo}`, { background: false });
  const other = (JSON.parse(json.body) as { id: string }).id;
  await call('tokens', '/v1/tokens', { method: 'POST', body: JSON.stringify({ jobs: [`openai-responses:${other}`] }) });
  for (const status of [400, 401, 403, 404, 429, 500, 503])
    await create(`reject ${status}`, `c --sim-status ${status} --sim-echo-token`, { stream: true });
  for (const outcome of ['failed', 'incomplete', 'error'])
    await create(`outcome ${outcome}`, `d --sim-outcome ${outcome} ${echo}`, { stream: true });
  await create('garbage', `e --sim-garbage ${echo}`, { stream: true });
  await create('drop and resume', `f --sim-drop-after 3 --sim-steps 4 --sim-interval 20 --sim-echo-token`, { stream: true });
  await create('drop and poll', `g --sim-drop-after 3 --sim-resume-window 1 --sim-steps 4 --sim-interval 20 --sim-echo-token`, {
    stream: true,
  });
  const running = await create('to cancel', 'h --sim-steps 300 --sim-interval 50 --sim-echo-token');
  const runningId = (JSON.parse(running.body) as { id: string }).id;
  await call('cancel', `/openai/v1/responses/${runningId}/cancel`, { method: 'POST' });
  await call('delete', `/openai/v1/responses/${runningId}`, { method: 'DELETE' });
  await call('delete unknown', '/openai/v1/responses/resp_unknown', { method: 'DELETE' });
  await call('retrieve unknown', '/openai/v1/responses/resp_unknown');
  await call('cancel unknown', '/openai/v1/responses/resp_unknown/cancel', { method: 'POST' });
  for (const path of ['/healthz', '/readyz', '/metrics', '/openai/v1/nope']) await call(path, path);
  return seen;
}

function expectNothingDecodes(text: string, what: string, secrets: readonly string[]) {
  for (const secret of secrets) {
    const decoded = findDecoded(text, secret);
    expect(decoded === undefined, `${what} decodes to a secret: ${decoded?.slice(0, 300)}`).toBe(true);
  }
}

function expectNoSecret(gw: TestGateway, seen: Captured[], secrets: readonly string[], forms: readonly string[]) {
  for (const captured of seen) {
    for (const form of forms) {
      expect(captured.headers, `${captured.what} headers`).not.toContain(form);
      expect(captured.body, `${captured.what} body`).not.toContain(form);
    }
    expectNothingDecodes(captured.headers, `${captured.what} headers`, secrets);
    for (const frame of captured.body.split('\n\n')) expectNothingDecodes(frame, `${captured.what} frame`, secrets);
    expectNothingDecodes(captured.body, `${captured.what} body`, secrets);
  }
  expect(gw.logs.join('').length).toBeGreaterThan(0);
  for (const line of gw.logs) {
    for (const form of forms) expect(line, 'log line').not.toContain(form);
    expectNothingDecodes(line, 'log line', secrets);
  }
}

describe('the OpenAI key never leaves', () => {
  let simulator: Simulator;
  let server: ServerType;
  let base: string;
  let gw: TestGateway;
  beforeAll(async () => {
    simulator = createSimulator({ token: CANARY, maxJobs: 1000 });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: simulator.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/openai/v1`;
    gw = await startTestGateway({ ...SECURED, OPENAI_API_KEY: CANARY, OPENAI_BASE_URL: base, POLL_INTERVAL_MS: '30', LOG_LEVEL: 'trace' });
  });
  afterAll(async () => {
    await gw.close();
    simulator.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeAllConnections' in server) server.closeAllConnections();
    });
  });

  it('not in any header, body, SSE frame or log line, though the upstream echoes it everywhere', async () => {
    const seen = await runEverything(gw);
    expect(seen.find((c) => c.what === 'stream success')?.status).toBe(200);
    expect(seen.find((c) => c.what === 'stream success')?.body).toContain('response.completed');
    const forms = [CANARY, 'LEAK-CANARY', Buffer.from(CANARY).toString('base64').replace(/=+$/, ''), encodeURIComponent(CANARY)];
    expectNoSecret(gw, seen, [CANARY, API_KEY, TOKEN_SECRET], forms);
    // The upstream did echo the key, and it was cut out.
    expect(seen.filter((c) => c.body.includes('[redacted]')).length).toBeGreaterThanOrEqual(5);
    // Upstream 401 and 403 are the gateway's own 502, never the vendor's message.
    for (const status of [401, 403]) {
      const rejected = seen.find((c) => c.what === `reject ${status}`) as Captured;
      expect(rejected.status).toBe(502);
      expect(JSON.parse(rejected.body)).toMatchObject({ error: { type: 'server_error', code: 'upstream_error' } });
      expect(rejected.headers).toContain('"x-should-retry","false"');
    }
  });

  it('nor its masked fragment when the vendor refuses the key', async () => {
    const wrong = await startTestGateway({ ...SECURED, OPENAI_API_KEY: WRONG, OPENAI_BASE_URL: base, LOG_LEVEL: 'trace' });
    try {
      const seen: Captured[] = [];
      for (const [what, path, init] of [
        ['create', '/openai/v1/responses', { method: 'POST', body: '{"model":"gpt-4o","input":"x","background":true,"stream":true}' }],
        ['create json', '/openai/v1/responses', { method: 'POST', body: '{"model":"gpt-4o","input":"x","background":true}' }],
        ['retrieve', '/openai/v1/responses/resp_abc', {}],
        ['cancel', '/openai/v1/responses/resp_abc/cancel', { method: 'POST' }],
        ['delete', '/openai/v1/responses/resp_abc', { method: 'DELETE' }],
      ] as const) {
        const response = await fetch(`${wrong.url}${path}`, { ...init, headers: withKey({ 'Content-Type': 'application/json' }) });
        seen.push({ what, status: response.status, headers: JSON.stringify([...response.headers]), body: await response.text() });
      }
      for (const captured of seen) {
        expect(captured.status, captured.what).toBe(502);
        expect(JSON.parse(captured.body)).toMatchObject({
          error: {
            message: "the upstream refused the gateway's credential (401)",
            type: 'server_error',
            param: null,
            code: 'upstream_error',
          },
        });
      }
      const masked = maskKey(WRONG);
      expectNoSecret(wrong, seen, [WRONG, API_KEY, TOKEN_SECRET], [WRONG, masked, WRONG.slice(-4), 'Incorrect API key']);
    } finally {
      await wrong.close();
    }
  });
});
