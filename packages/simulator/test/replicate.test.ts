import Replicate from 'replicate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSse, startSimulator } from './helpers.ts';
import type { RunningSimulator } from './helpers.ts';
import { until } from './until.ts';

const TOKEN = 'r8_test-replicate-token-0123';

let s: RunningSimulator;
let replicate: Replicate;
beforeAll(async () => {
  s = await startSimulator({ token: TOKEN });
  replicate = new Replicate({ auth: TOKEN, baseUrl: `${s.origin}/replicate/v1` });
});
afterAll(() => s.close());

const api = (path: string, init: RequestInit = {}, token = TOKEN) =>
  fetch(`${s.origin}/replicate/v1${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) },
  });
const create = (model: string, prompt: string, headers: Record<string, string> = {}) =>
  api(`/models/${model}/predictions`, { method: 'POST', body: JSON.stringify({ input: { prompt } }), headers });
type Prediction = { id: string; status: string; output: unknown; logs: string; error: unknown; urls: Record<string, string> } & Record<
  string,
  unknown
>;
const stats = async () =>
  (await (await fetch(`${s.origin}/_sim/replicate/stats`)).json()) as { streamsServed: number; polls: Record<string, number> };

describe('Replicate simulator', () => {
  it('runs an image model through the official client: starting → processing → succeeded, output an array of URLs', async () => {
    const seen: string[] = [];
    const output = await replicate.run(
      'black-forest-labs/flux-schnell',
      { input: { prompt: 'a cat --sim-steps 2' }, wait: { mode: 'poll', interval: 5 } },
      (p) => seen.push(p.status),
    );
    expect(seen[0]).toBe('starting');
    expect(seen.at(-1)).toBe('succeeded');
    // http: URLs stay strings (the client wraps only https: and data: ones in FileOutput).
    const [image] = output as string[];
    expect(image).toMatch(new RegExp(`^${s.origin}/_sim/images/[a-z2-7]{26}/1\\.png$`));
    const png = await fetch(image as string);
    expect(png.headers.get('content-type')).toBe('image/png');
  });

  it('gives image models no stream, language models a stream URL on a host path of their own', async () => {
    const image = (await (await create('acme/sdxl', 'x --sim-steps 0')).json()) as Prediction;
    expect(image.urls.stream).toBeUndefined();
    const text = (await (await create('meta/llama-3-8b', 'hi --sim-steps 1')).json()) as Prediction;
    expect(text.status).toBe('starting');
    expect(text.urls).toMatchObject({
      get: `${s.origin}/replicate/v1/predictions/${text.id}`,
      cancel: `${s.origin}/replicate/v1/predictions/${text.id}/cancel`,
      stream: `${s.origin}/replicate/streaming/v1/predictions/${text.id}`,
    });
  });

  it('streams a language model token by token through the official client, ending with done', async () => {
    const events = [];
    for await (const event of replicate.stream('mistralai/mistral-7b', { input: { prompt: 'hello --sim-steps 3' } })) events.push(event);
    expect(events.map((e) => e.event)).toEqual(['output', 'output', 'output', 'done']);
    expect(events.at(-1)?.data).toBe('{}');
    for (const event of events) expect(event.id).toMatch(/^\d+:\d+$/);
    const text = events
      .filter((e) => e.event === 'output')
      .map(String)
      .join('');
    expect(text.split(' ')).toHaveLength(3);
  });

  it('frames the stream as Replicate does, replays it whole to a late reader, and counts streams', async () => {
    const before = (await stats()).streamsServed;
    const created = (await (await create('openai/gpt-5', 'x --sim-steps 2 --sim-outcome failed', { Prefer: 'wait' })).json()) as Prediction;
    expect(created.status).toBe('failed');
    expect(created.error).toMatch(/simulated model/);
    const raw = await (await fetch(created.urls.stream as string)).text();
    const messages = parseSse(raw);
    expect(messages.map((m) => m.event)).toEqual(['output', 'output', 'error', 'done']);
    expect(JSON.parse(messages[2]?.data ?? '')).toEqual({ detail: created.error });
    expect(JSON.parse(messages.at(-1)?.data ?? '')).toEqual({ reason: 'error' });
    expect(raw).toMatch(/^event: output\nid: \d+:0\ndata: /);
    expect((await stats()).streamsServed - before).toBe(1);
  });

  it('cuts the first stream after --sim-drop-after, the prediction going on; a cancel ends it canceled', async () => {
    const created = (await (await create('meta/llama', 'x --sim-steps 50 --sim-interval 20 --sim-drop-after 2')).json()) as Prediction;
    const first = parseSse(await (await fetch(created.urls.stream as string)).text());
    expect(first.map((m) => m.event)).toEqual(['output', 'output']);
    const cancelled = (await (await api(`/predictions/${created.id}/cancel`, { method: 'POST' })).json()) as Prediction;
    expect(cancelled.status).toBe('canceled');
    const second = parseSse(await (await fetch(created.urls.stream as string)).text());
    expect(second.at(-1)).toMatchObject({ event: 'done', data: '{"reason":"canceled"}' });
  });

  it('removes an ended prediction’s input, output and logs after --sim-retention', async () => {
    const created = (await (await create('acme/flux', 'x --sim-steps 1 --sim-retention 50', { Prefer: 'wait=5' })).json()) as Prediction;
    expect(created.status).toBe('succeeded');
    expect(created.output).toHaveLength(1);
    expect(created.metrics).toMatchObject({ predict_time: expect.any(Number) });
    const removed = await until(
      async () => (await (await api(`/predictions/${created.id}`)).json()) as Prediction,
      (p) => p.data_removed === true,
      (p) => `still ${JSON.stringify(p)}`,
    );
    expect(removed).toMatchObject({ status: 'succeeded', output: null, logs: '', input: {} });
    expect((await stats()).polls[created.id]).toBeGreaterThan(0);
  });

  it('answers errors as Replicate does: {"detail"} with 401, 404, 422 and --sim-status', async () => {
    const unauthorized = await api('/predictions/abc', {}, 'wrong');
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toMatchObject({ detail: expect.any(String) });
    expect((await api('/predictions/nope')).status).toBe(404);
    const noVersion = await api('/predictions', { method: 'POST', body: JSON.stringify({ input: { prompt: 'x' } }) });
    expect(noVersion.status).toBe(422);
    expect(await noVersion.json()).toMatchObject({ detail: expect.stringContaining('version') });
    const badDirective = await create('acme/flux', 'x --sim-nonsense');
    expect(badDirective.status).toBe(422);
    const limited = await create('acme/flux', 'x --sim-status 429');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    const byVersion = await api('/predictions', { method: 'POST', body: JSON.stringify({ version: 'llama-v1', input: { prompt: 'x' } }) });
    expect(((await byVersion.json()) as Prediction).urls.stream).toBeDefined();
  });
});
