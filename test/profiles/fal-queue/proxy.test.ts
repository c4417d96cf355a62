import { ApiError, createFalClient } from '@fal-ai/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findDecoded } from '../../support/decode.ts';
import { type TestGateway, startTestGateway } from '../../support/gateway.ts';

// fal.run (the synchronous API) is not simulated: a stand-in answers https://fal.run/* for the
// gateway's outgoing fetch, echoing the Authorization it received; everything else is real. The
// gateway has FAL_KEY and fal's own queue (so it relays fal.run); a second one runs on the simulator.
const SIM_KEY = 'fal-key-0123456789abc';
const GATEWAY_KEY = 'gw-key-0123456789abcdef';
const realFetch = globalThis.fetch;
const received: Array<{ url: string; method: string; authorization: string | null; body: string }> = [];

let gw: TestGateway;
let onSimulator: TestGateway;
beforeAll(async () => {
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith('https://fal.run/')) return realFetch(input, init);
    const authorization = new Headers(init?.headers).get('authorization');
    received.push({ url, method: init?.method ?? 'GET', authorization, body: String(init?.body ?? '') });
    return Response.json({ images: [{ url: 'https://v3.fal.media/x.png' }], seen: authorization });
  });
  gw = await startTestGateway({ FAL_KEY: SIM_KEY, GATEWAY_API_KEYS: GATEWAY_KEY });
  onSimulator = await startTestGateway({ SIM_TOKEN: 'sim-token-0123456789' });
});
afterAll(async () => {
  await gw?.close();
  await onSimulator?.close();
  vi.unstubAllGlobals();
});

describe('/fal/proxy: targets outside the queue', () => {
  it('fal.run is forwarded with the gateway credential, never the caller one, and the answer is redacted', async () => {
    const fal = createFalClient({ credentials: GATEWAY_KEY, proxyUrl: { url: `${gw.url}/fal/proxy`, when: 'always' } });
    const { data } = await fal.run('fal-ai/flux/dev', { input: { prompt: 'sync' } });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ url: 'https://fal.run/fal-ai/flux/dev', method: 'POST', authorization: `Key ${SIM_KEY}` });
    expect(JSON.parse(received[0]!.body)).toEqual({ prompt: 'sync' });
    expect((data as { images: unknown[] }).images).toHaveLength(1);
    const text = JSON.stringify(data);
    expect(findDecoded(text, SIM_KEY)).toBeUndefined();
    expect(text).toContain('[redacted]');
    expect(findDecoded(gw.logs.join(''), SIM_KEY)).toBeUndefined();
  });

  it('needs the gateway API key', async () => {
    const fal = createFalClient({ credentials: 'not-a-gateway-key', proxyUrl: { url: `${gw.url}/fal/proxy`, when: 'always' } });
    const error = await fal.run('fal-ai/flux/dev', { input: { prompt: 'sync' } }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    expect(received).toHaveLength(1);
  });

  it('on the simulator (or any queue that is not fal own) relays nothing beyond the queue: 400, nothing sent', async () => {
    const before = received.length;
    for (const target of ['https://fal.run/fal-ai/flux/dev', 'https://rest.fal.ai/storage/upload/initiate']) {
      const response = await fetch(`${onSimulator.url}/fal/proxy`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'x-fal-target-url': target },
        body: '{}',
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { detail: string }).detail).toContain('not relayed');
    }
    expect(received).toHaveLength(before);
  });
});
