import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import { findDecoded } from '../../support/decode.ts';
import { type TestGateway, startTestGateway } from '../../support/gateway.ts';
import { until } from '../../support/until.ts';

// FAL_KEY against a simulator that accepts only it and echoes it (--sim-echo-token) into log lines and model errors.
const FAL_KEY = 'fal-LEAK-CANARY-5678';
const GATEWAY_KEY = 'gw-key-0123456789abcdef';

let sim: Simulator;
let simServer: ServerType;
let gw: TestGateway;

beforeAll(async () => {
  sim = createSimulator({ token: FAL_KEY, defaultIntervalMs: 5 });
  simServer = serve({ fetch: sim.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => simServer.once('listening', () => resolve()));
  const { port } = simServer.address() as AddressInfo;
  gw = await startTestGateway({ FAL_KEY, FAL_QUEUE_URL: `http://127.0.0.1:${port}/fal/queue`, GATEWAY_API_KEYS: GATEWAY_KEY });
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

describe('fal-queue: FAL_KEY never leaves the gateway', () => {
  it('in no answer, frame, header or log line, raw or decoded, whatever the upstream echoes', async () => {
    const seen: Seen[] = [];
    const call = async (what: string, path: string, init: RequestInit = {}, key = `Key ${GATEWAY_KEY}`) => {
      const response = await fetch(`${gw.url}${path}`, {
        ...init,
        headers: { Authorization: key, 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) },
      });
      const text = await response.text();
      seen.push({ what, status: response.status, text: `${JSON.stringify([...response.headers])}\n${text}` });
      return { status: response.status, text };
    };
    const submit = (what: string, prompt: string) =>
      call(what, '/fal/queue/fal-ai/flux/dev', { method: 'POST', body: JSON.stringify({ prompt }) });
    const echo = '--sim-echo-token --sim-steps 2 --sim-interval 5';

    for (const outcome of ['completed', 'error']) {
      const { text } = await submit(`submit ${outcome}`, `a --sim-outcome ${outcome} ${echo}`);
      const { request_id, status_url } = JSON.parse(text) as { request_id: string; status_url: string };
      const path = new URL(status_url).pathname;
      await call(`stream ${outcome}`, `${path}/stream?logs=1`);
      await call(`status ${outcome}`, `${path}?logs=1`);
      await call(`result ${outcome}`, `/fal/queue/fal-ai/flux/requests/${request_id}`);
      await call(`uniform ${outcome}`, `/v1/jobs/fal-queue/fal-ai:flux:${request_id}/stream`, {}, `Bearer ${GATEWAY_KEY}`);
      await call(`cancel ${outcome}`, `/fal/queue/fal-ai/flux/requests/${request_id}/cancel`, { method: 'PUT' });
    }
    for (const status of [400, 401, 422, 429, 500, 503, 504]) await submit(`reject ${status}`, `b --sim-status ${status} --sim-echo-token`);
    await submit('garbage', `c --sim-garbage ${echo}`);
    await submit('dropped', `d --sim-drop-after 1 ${echo}`);
    await call('proxy', '/fal/proxy', {
      method: 'POST',
      body: JSON.stringify({ prompt: `e ${echo}` }),
      headers: { 'x-fal-target-url': 'https://queue.fal.run/fal-ai/flux/dev' },
    });
    await call('unknown request', '/fal/queue/fal-ai/flux/requests/00000000-0000-4000-8000-000000000000/status');
    // Every followed job finished, so its log lines are in.
    const relay = gw.relays.get('fal-queue')!;
    await until(() => relay.counts().followed.length === 0).catch(() => undefined);
    expect(relay.counts().followed).toEqual([]);

    expect(seen.some((s) => s.what === 'result error' && s.status === 422)).toBe(true);
    expect(seen.some((s) => s.what === 'reject 503' && s.status === 503)).toBe(true);
    for (const { what, text } of seen) expect(findDecoded(text, FAL_KEY), what).toBeUndefined();
    const logs = gw.logs.join('');
    expect(findDecoded(logs, FAL_KEY), 'logs').toBeUndefined();
    // The upstream did echo it: what the gateway received held the key, what it passed on did not.
    expect(seen.find((s) => s.what === 'stream completed')?.text).toMatch(/Authorization: Key \[redacted\]/);
  });
});
