import { createFalClient } from '@fal-ai/client';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerTypes, collect } from '../../packages/simulator/test/openai-helpers.ts';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { until } from '../support/until.ts';

// The opt-in create queue (`X-Queue: true`) on the OpenAI and fal drop-in create paths, with the
// official clients. The in-process simulator runs one OpenAI response at a time (SIM_MAX_JOBS=1:
// its 429 is the busy signal); fal's submit says 429 under `--sim-busy 1` while a request is unfinished.

const QUEUE = { 'X-Queue': 'true' };
const FLUX = 'fal-ai/flux/dev';
const gatewayEnv = { SIM_MAX_JOBS: '1', POLL_INTERVAL_MS: '30', CREATE_QUEUE_POLL_MS: '50' };
/** The SDK on the gateway, asking for the queue on every call; no retries, so every upstream create is the gateway's. */
const openai = (gw: TestGateway) => new OpenAI({ apiKey: 'any', baseURL: `${gw.url}/openai/v1`, maxRetries: 0, defaultHeaders: QUEUE });
const upstreamCreates = (gw: TestGateway) =>
  gw.simulator!.openaiStats().requests.filter((request) => request.method === 'POST' && request.path === '/openai/v1/responses').length;

/**
 * Holds the simulator's one OpenAI slot with a long response while `run` starts; once the
 * upstream has refused a create after it (429: the queue is waiting), frees the slot, and
 * returns what `run` resolved to.
 */
async function afterAWait<T>(gw: TestGateway, run: () => Promise<T>): Promise<T> {
  const client = openai(gw);
  const hold = await client.responses.create({ model: 'gpt-4o', input: 'hold --sim-steps 400 --sim-interval 50', background: true });
  const before = upstreamCreates(gw);
  const result = run();
  await until(() => upstreamCreates(gw) > before, 'the upstream to refuse a create');
  await client.responses.cancel(hold.id);
  return result;
}

describe('the create queue on the OpenAI drop-in path', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ ...gatewayEnv, CREATE_QUEUE_MAX: '3' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('holds a stream:false create until the upstream has room, then answers as usual', async () => {
    const client = openai(gw);
    // Without background: the finished response, as always; the wait came first.
    const done = await afterAWait(gw, () => client.responses.create({ model: 'gpt-4o', input: 'waited --sim-steps 2 --sim-interval 5' }));
    expect(done.status).toBe('completed');
    expect(done.output_text.length).toBeGreaterThan(0);
    // With background: the response object at once, once the job started.
    const queued = await afterAWait(gw, () =>
      client.responses.create({ model: 'gpt-4o', input: 'waited too --sim-steps 2 --sim-interval 5', background: true }),
    );
    expect(queued.id).toMatch(/^resp_/);
    expect(['queued', 'in_progress', 'completed']).toContain(queued.status);
  });

  it("streams a create that must wait with only ':' comments while it waits, then the vendor's events, which the SDK's stream() helper takes", async () => {
    const raw = await afterAWait(gw, async () => {
      const response = await fetch(`${gw.url}/openai/v1/responses`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...QUEUE },
        body: JSON.stringify({ model: 'gpt-4o', input: 'raw --sim-steps 3 --sim-interval 5', stream: true }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      return response.text();
    });
    const frames = raw.split('\n\n').filter((frame) => frame !== '');
    const first = frames.findIndex((frame) => /^(id|event|data):/m.test(frame));
    expect(first).toBeGreaterThan(0);
    for (const frame of frames.slice(0, first)) expect(frame).toMatch(/^(retry: \d+|:.*)$/);
    expect(frames.some((frame) => frame.startsWith(': queued, position 1'))).toBe(true);
    const events = frames
      .slice(first)
      .filter((frame) => !frame.startsWith(':'))
      .map((frame) => /^event: (.+)$/m.exec(frame)?.[1]);
    expect(events).toEqual(answerTypes(3));

    const helper = await afterAWait(gw, async () =>
      openai(gw).responses.stream({ model: 'gpt-4o', input: 'helper --sim-steps 2 --sim-interval 5', background: true }).finalResponse(),
    );
    expect(helper.status).toBe('completed');
  });
});

describe('the create queue on the OpenAI drop-in path, when it gives up', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ ...gatewayEnv, CREATE_QUEUE_MAX: '1', CREATE_QUEUE_MAX_WAIT_MS: '1000' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("ends a waiting stream with the vendor's error event (the SDK throws), and a full queue is a JSON error not to retry", async () => {
    const client = openai(gw);
    const hold = await client.responses.create({ model: 'gpt-4o', input: 'hold --sim-steps 400 --sim-interval 50', background: true });
    try {
      // The one place in the queue is taken by a raw stream, which times out after a second.
      const waiting = await fetch(`${gw.url}/openai/v1/responses`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...QUEUE },
        body: JSON.stringify({ model: 'gpt-4o', input: 'raw', stream: true }),
      });
      expect(waiting.status).toBe(200);
      const full = await client.responses.create({ model: 'gpt-4o', input: 'one too many', background: true }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(full).toBeInstanceOf(OpenAI.APIError);
      const fullError = full as InstanceType<typeof OpenAI.APIError>;
      expect(fullError.status).toBe(503);
      expect(fullError.code).toBe('queue_full');
      expect(fullError.headers?.get('x-should-retry')).toBe('false');
      const frames = (await waiting.text()).split('\n\n').filter((frame) => frame !== '');
      expect(frames.at(-1)).toMatch(/^event: error\ndata: /);
      const data = JSON.parse((frames.at(-1) as string).split('\ndata: ')[1] as string);
      expect(data).toEqual({
        type: 'error',
        sequence_number: 0,
        error: { type: 'server_error', code: 'queue_timeout', message: expect.any(String), param: null },
      });
      for (const frame of frames.slice(0, -1)) expect(frame).toMatch(/^(retry: \d+|:.*)$/);
      // The SDK's own stream throws on it, rather than taking a clean close for an answer.
      const thrown = await collect(await client.responses.create({ model: 'gpt-4o', input: 'sdk', stream: true })).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(thrown).toBeInstanceOf(OpenAI.APIError);
      expect(String((thrown as Error).message)).toMatch(/no upstream capacity/);
    } finally {
      await client.responses.cancel(hold.id);
    }
  });
});

describe('the create queue on the fal submit path', () => {
  let gw: TestGateway;
  let strict: TestGateway;
  beforeAll(async () => {
    [gw, strict] = await Promise.all([
      startTestGateway({ ...gatewayEnv, CREATE_QUEUE_MAX: '3' }),
      startTestGateway({ ...gatewayEnv, CREATE_QUEUE_MAX: '1', CREATE_QUEUE_MAX_WAIT_MS: '1000' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([gw?.close(), strict?.close()]);
  });

  const fal = (url: string) =>
    createFalClient({
      credentials: 'any',
      requestMiddleware: async (request) => ({ ...request, url: request.url.replace('https://queue.fal.run', `${url}/fal/queue`) }),
    });
  const submitRaw = (url: string, prompt: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/fal/queue/${FLUX}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ prompt }),
    });

  it("without X-Queue passes fal's 429 on; with it, waits and answers the submit JSON, which the client follows", async () => {
    const client = fal(gw.url);
    const hold = await client.queue.submit(FLUX, { input: { prompt: 'hold --sim-steps 99 --sim-interval 100' } });
    const busy = await submitRaw(gw.url, 'busy --sim-busy 1');
    expect(busy.status).toBe(429);
    expect(await busy.json()).toEqual({ detail: 'Too Many Requests' });
    const submits = () => gw.simulator!.falStats().submits;
    const before = submits();
    const submitted = client.queue.submit(FLUX, {
      input: { prompt: 'queued --sim-busy 1 --sim-steps 1 --sim-interval 5' },
      headers: QUEUE,
    });
    await until(() => submits() > before, 'the upstream to refuse the submit');
    await client.queue.cancel(FLUX, { requestId: hold.request_id });
    const answer = await submitted;
    expect(answer.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.status_url).toContain(`${gw.url}/fal/queue/`);
    await client.queue.subscribeToStatus(FLUX, { requestId: answer.request_id, pollInterval: 20 });
    const result = await client.queue.result(FLUX, { requestId: answer.request_id });
    expect(result.requestId).toBe(answer.request_id);
  });

  it("keeps one queue per profile: a caller waiting for OpenAI's capacity holds back no fal submit", async () => {
    let waited = false;
    const openaiCreate = afterAWait(gw, async () => {
      const blocked = openai(gw)
        .responses.create({ model: 'gpt-4o', input: 'waits --sim-steps 1 --sim-interval 5', background: true })
        .finally(() => void (waited = true));
      const submitted = await fal(gw.url).queue.submit(FLUX, { input: { prompt: 'free --sim-steps 1 --sim-interval 5' }, headers: QUEUE });
      expect(submitted.request_id).toBeTruthy();
      expect(waited).toBe(false);
      return blocked;
    });
    expect((await openaiCreate).id).toMatch(/^resp_/);
  });

  it("answers queue_full and queue_timeout in fal's {detail} shape", async () => {
    const client = fal(strict.url);
    const hold = await client.queue.submit(FLUX, { input: { prompt: 'hold --sim-steps 99 --sim-interval 100' } });
    try {
      const waiting = submitRaw(strict.url, 'waits --sim-busy 1', QUEUE);
      const submits = () => strict.simulator!.falStats().submits;
      await until(() => submits() >= 2, 'the first caller to queue');
      const full = await submitRaw(strict.url, 'full --sim-busy 1', QUEUE);
      expect(full.status).toBe(503);
      expect(full.headers.get('retry-after')).toBe('5');
      expect(await full.json()).toEqual({ detail: expect.any(String), code: 'queue_full' });
      const timedOut = await waiting;
      expect(timedOut.status).toBe(503);
      expect(await timedOut.json()).toEqual({ detail: expect.any(String), code: 'queue_timeout' });
    } finally {
      await client.queue.cancel(FLUX, { requestId: hold.request_id });
    }
  });
});
