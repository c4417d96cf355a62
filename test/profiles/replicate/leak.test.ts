import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import { findDecoded } from '../../support/decode.ts';
import { type TestGateway, startTestGateway } from '../../support/gateway.ts';
import { until } from '../../support/until.ts';

// REPLICATE_API_TOKEN against a simulator that accepts only it and echoes it (--sim-echo-token) into log lines and errors.
const REPLICATE_API_TOKEN = 'r8_LEAK-CANARY-9012';
const GATEWAY_KEY = 'gw-key-0123456789abcdef';

let sim: Simulator;
let simServer: ServerType;
let gw: TestGateway;

beforeAll(async () => {
  sim = createSimulator({ token: REPLICATE_API_TOKEN, defaultIntervalMs: 5 });
  simServer = serve({ fetch: sim.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => simServer.once('listening', () => resolve()));
  const { port } = simServer.address() as AddressInfo;
  gw = await startTestGateway({
    REPLICATE_API_TOKEN,
    REPLICATE_BASE_URL: `http://127.0.0.1:${port}/replicate/v1`,
    GATEWAY_API_KEYS: GATEWAY_KEY,
    POLL_INTERVAL_MS: '20',
  });
});

afterAll(async () => {
  await gw?.close();
  sim?.close();
  await new Promise<void>((resolve) => simServer.close(() => resolve()));
});

interface Seen {
  what: string;
  status: number;
  text: string;
}

describe('replicate: REPLICATE_API_TOKEN never leaves the gateway', () => {
  it('in no answer, frame, header or log line, raw or decoded, whatever the upstream echoes', async () => {
    const seen: Seen[] = [];
    const call = async (what: string, url: string, init: RequestInit = {}, key: string | null = `Bearer ${GATEWAY_KEY}`) => {
      const response = await fetch(url.startsWith('http') ? url : `${gw.url}${url}`, {
        ...init,
        headers: {
          'Content-Type': 'application/json',
          ...(key ? { Authorization: key } : {}),
          ...(init.headers as Record<string, string>),
        },
      });
      const text = await response.text();
      seen.push({ what, status: response.status, text: `${JSON.stringify([...response.headers])}\n${text}` });
      return { status: response.status, text };
    };
    const create = (what: string, model: string, prompt: string, headers: Record<string, string> = {}) =>
      call(what, `/replicate/v1/models/${model}/predictions`, { method: 'POST', body: JSON.stringify({ input: { prompt } }), headers });
    const echo = '--sim-echo-token --sim-steps 2 --sim-interval 5';

    for (const [model, outcome] of [
      ['meta/llama', 'succeeded'],
      ['meta/llama', 'failed'],
      ['acme/flux', 'succeeded'],
      ['acme/flux', 'failed'],
    ] as const) {
      const what = `${model} ${outcome}`;
      const { text } = await create(`create ${what}`, model, `a --sim-outcome ${outcome} ${echo}`);
      const { id, urls } = JSON.parse(text) as { id: string; urls: { stream: string } };
      await call(`stream ${what}`, urls.stream, {}, null);
      await call(`get ${what}`, `/replicate/v1/predictions/${id}`);
      await call(`uniform ${what}`, `/v1/jobs/replicate/${id}/stream`);
      await call(`cancel ${what}`, `/replicate/v1/predictions/${id}/cancel`, { method: 'POST' });
    }
    await create('waited', 'acme/flux', `w ${echo}`, { Prefer: 'wait=10' });
    for (const status of [400, 401, 402, 422, 429, 500, 503])
      await create(`reject ${status}`, 'acme/flux', `b --sim-status ${status} --sim-echo-token`);
    await create('garbage', 'meta/llama', `c --sim-garbage ${echo}`);
    await create('dropped', 'meta/llama', `d --sim-drop-after 1 ${echo}`);
    await call('unknown prediction', '/replicate/v1/predictions/nosuchprediction');
    await call('by version', '/replicate/v1/predictions', {
      method: 'POST',
      body: JSON.stringify({ version: 'llm-v1', input: { prompt: echo } }),
    });
    // Every followed prediction ended, so its log lines and errors are in.
    const relay = gw.relays.get('replicate')!;
    await until(() => relay.counts().followed.length === 0).catch(() => undefined);
    expect(relay.counts().followed).toEqual([]);

    expect(seen.some((s) => s.what === 'reject 422' && s.status === 422)).toBe(true);
    expect(seen.some((s) => s.what === 'reject 401' && s.status === 502)).toBe(true);
    for (const { what, text } of seen) expect(findDecoded(text, REPLICATE_API_TOKEN), what).toBeUndefined();
    expect(findDecoded(gw.logs.join(''), REPLICATE_API_TOKEN), 'logs').toBeUndefined();
    // The upstream did echo it: what the gateway received held the token, what it passed on did not.
    expect(seen.find((s) => s.what === 'get acme/flux failed')?.text).toMatch(/Authorization: Bearer \[redacted\]/);
  });
});
