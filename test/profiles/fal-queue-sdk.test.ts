import { ApiError, createFalClient } from '@fal-ai/client';
import type { FalClient, QueueStatus } from '@fal-ai/client';
import { EventSource } from 'eventsource';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { until } from '../support/until.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';

// The official @fal-ai/client against the gateway, configured as fal's docs say for a server proxy.
const FLUX = 'fal-ai/flux/dev';
type FluxOutput = { images: Array<{ url: string }>; prompt: string };

let gateway: TestGateway;
afterEach(async () => {
  await gateway?.close();
});

/** The client with every request sent to the gateway's `/fal/proxy` (the target in `x-fal-target-url`). */
function proxied(url: string, credentials = 'any'): FalClient {
  return createFalClient({ credentials, proxyUrl: { url: `${url}/fal/proxy`, when: 'always' } });
}

/** The client with fal's queue host rewritten to the gateway's `/fal/queue`. */
function rewritten(url: string, credentials = 'any'): FalClient {
  return createFalClient({
    credentials,
    requestMiddleware: async (request) => ({ ...request, url: request.url.replace('https://queue.fal.run', `${url}/fal/queue`) }),
  });
}

const falStats = () => gateway.simulator!.falStats();

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('@fal-ai/client through the gateway', () => {
  it('subscribe (polling) through /fal/proxy: statuses from the history, the result once, one upstream stream', async () => {
    gateway = await startTestGateway();
    const fal = proxied(gateway.url);
    const updates: QueueStatus[] = [];
    let enqueued = '';
    const result = await fal.subscribe(FLUX, {
      input: { prompt: 'a cat --sim-steps 3 --sim-interval 100' },
      logs: true,
      pollInterval: 20,
      onEnqueue: (id) => void (enqueued = id),
      onQueueUpdate: (update) => void updates.push(update),
    });
    expect(result.requestId).toBe(enqueued);
    expect((result.data as FluxOutput).prompt).toBe('a cat --sim-steps 3 --sim-interval 100');
    expect(updates.at(-1)?.status).toBe('COMPLETED');
    const stats = falStats();
    expect(stats.streamsServed).toBe(1);
    expect(stats.resultFetches[enqueued]).toBe(1);
    // Polls were answered from the history: only those before its first status was stored went upstream.
    expect(stats.statusPolls[enqueued] ?? 0).toBeLessThan(updates.length);
  });

  it('subscribe (streaming) through /fal/proxy gathers every log line and ends with COMPLETED', async () => {
    gateway = await startTestGateway();
    const fal = proxied(gateway.url);
    const updates: QueueStatus[] = [];
    const result = await fal.subscribe(FLUX, {
      input: { prompt: 'a dog --sim-steps 4 --sim-queue 2 --sim-interval 20' },
      logs: true,
      mode: 'streaming',
      onQueueUpdate: (update) => void updates.push(update),
    });
    expect((result.data as FluxOutput).images).toHaveLength(1);
    const last = updates.at(-1)!;
    expect(last.status).toBe('COMPLETED');
    expect('logs' in last && last.logs?.map((l) => l.message)).toEqual(['step 1/4', 'step 2/4', 'step 3/4', 'step 4/4']);
    expect(falStats().streamsServed).toBe(1);
  });

  it('queue.submit answers URLs at the gateway; streamStatus, status and result with requestMiddleware', async () => {
    gateway = await startTestGateway();
    const fal = rewritten(gateway.url);
    const submitted = await fal.queue.submit(FLUX, { input: { prompt: 'an owl --sim-steps 2 --sim-interval 20' } });
    expect(submitted.status).toBe('IN_QUEUE');
    expect(submitted.status_url).toBe(`${gateway.url}/fal/queue/fal-ai/flux/requests/${submitted.request_id}/status`);
    const stream = await fal.queue.streamStatus(FLUX, { requestId: submitted.request_id, logs: true });
    const seen: string[] = [];
    stream.on('data', (data: QueueStatus) => void seen.push(data.status));
    const done = (await stream.done()) as QueueStatus;
    expect(done.status).toBe('COMPLETED');
    expect(seen.at(-1)).toBe('COMPLETED');
    expect(seen.filter((s) => s === 'COMPLETED')).toHaveLength(1);
    const status = await fal.queue.status(FLUX, { requestId: submitted.request_id, logs: true });
    expect(status.status).toBe('COMPLETED');
    const result = await fal.queue.result(FLUX, { requestId: submitted.request_id });
    expect(result.requestId).toBe(submitted.request_id);
    expect((result.data as FluxOutput).prompt).toContain('an owl');
  });

  it('three viewers of one request share one upstream status stream; the uniform path serves it to EventSource', async () => {
    gateway = await startTestGateway();
    const fal = rewritten(gateway.url);
    const { request_id } = await fal.queue.submit(FLUX, { input: { prompt: 'shared --sim-steps 4 --sim-interval 50' } });
    const viewers = [0, 1, 2].map(async () => {
      const stream = await fal.queue.streamStatus(FLUX, { requestId: request_id, logs: true });
      return (await stream.done()) as QueueStatus;
    });
    const uniform = new Promise<string[]>((resolve, reject) => {
      const types: string[] = [];
      const source = new EventSource(`${gateway.url}/v1/jobs/fal-queue/fal-ai:flux:${request_id}/stream`);
      source.onmessage = (message) => {
        const data = JSON.parse(message.data) as { status: string };
        types.push(data.status);
        if (data.status === 'COMPLETED') {
          source.close();
          resolve(types);
        }
      };
      source.onerror = () => reject(new Error('EventSource failed'));
    });
    for (const done of await Promise.all(viewers)) expect(done.status).toBe('COMPLETED');
    expect((await uniform).at(-1)).toBe('COMPLETED');
    expect(falStats().streamsServed).toBe(1);
    expect(falStats().resultFetches[request_id]).toBe(1);
  });

  it('a late joiner gets the result after the upstream dropped it', async () => {
    gateway = await startTestGateway({ SIM_TOKEN: 'sim-key-0123456789' });
    const fal = rewritten(gateway.url);
    const { requestId } = await fal.subscribe(FLUX, {
      input: { prompt: 'brief --sim-steps 1 --sim-interval 20 --sim-retention 1500' },
      pollInterval: 20,
    });
    expect(falStats().resultFetches[requestId]).toBe(1);
    // The vendor forgets it soon after: its own result call becomes a 404.
    const vendorResult = `${new URL(gateway.simulatorUrl!).origin}/fal/queue/fal-ai/flux/requests/${requestId}`;
    await until(
      () => fetch(vendorResult, { headers: { Authorization: 'Key sim-key-0123456789' } }).then((response) => response.status),
      (status) => status === 404,
    );
    const fetched = falStats().resultFetches[requestId];
    const late = await fal.queue.result(FLUX, { requestId });
    expect((late.data as FluxOutput).prompt).toBe('brief --sim-steps 1 --sim-interval 20 --sim-retention 1500');
    const stream = await fal.queue.streamStatus(FLUX, { requestId, logs: true });
    const done = (await stream.done()) as QueueStatus & { result?: { status: number } };
    expect(done.status).toBe('COMPLETED');
    expect(done.result?.status).toBe(200);
    // Served from the history: the gateway asked the vendor nothing more.
    expect(falStats().resultFetches[requestId]).toBe(fetched);
  });

  it('a dropped upstream status stream is reopened; the job completes with its result and no repeated status', async () => {
    gateway = await startTestGateway();
    const fal = rewritten(gateway.url);
    const updates: QueueStatus[] = [];
    const result = await fal.subscribe(FLUX, {
      input: { prompt: 'dropped --sim-steps 4 --sim-interval 40 --sim-drop-after 2' },
      logs: true,
      mode: 'streaming',
      onQueueUpdate: (update) => void updates.push(update),
    });
    expect((result.data as FluxOutput).prompt).toContain('dropped');
    expect(falStats().streamsServed).toBe(2);
    const last = updates.at(-1)!;
    expect('logs' in last && last.logs?.map((l) => l.message)).toEqual(['step 1/4', 'step 2/4', 'step 3/4', 'step 4/4']);
  });

  it('a request past the gateway deadline ends COMPLETED for pollers and streams, its result a 500 with the reason', async () => {
    gateway = await startTestGateway({ JOB_DEADLINE_MS: '1000' });
    const fal = proxied(gateway.url);
    const submitted = await fal.queue.submit(FLUX, { input: { prompt: 'stuck --sim-steps 5 --sim-interval 60000' } });
    const stream = await fal.queue.streamStatus(FLUX, { requestId: submitted.request_id });
    const done = (await stream.done()) as QueueStatus & { error?: string };
    expect(done).toMatchObject({ status: 'COMPLETED', error: expect.stringContaining('deadline') });
    expect(await fal.queue.status(FLUX, { requestId: submitted.request_id })).toMatchObject({ status: 'COMPLETED' });
    const error = await rejection(fal.queue.result(FLUX, { requestId: submitted.request_id }));
    expect(error).toMatchObject({ status: 500, body: { error_type: 'relay_gave_up' } });
  });

  it('the proxy takes fal hosts only: no target, another host, credentials in the URL, loopback are 400 in fal shape', async () => {
    gateway = await startTestGateway();
    const cases = [
      undefined,
      'http://queue.fal.run/fal-ai/flux/dev',
      'https://queue.fal.run@127.0.0.1/fal-ai/flux/dev',
      'https://127.0.0.1/fal-ai/flux/dev',
      'https://queue.fal.run.evil.example/fal-ai/flux/dev',
      'https://queue.fal.run:8443/fal-ai/flux/dev',
      'https://rest.fal.ai/tokens/',
      'not a url',
    ];
    for (const target of cases) {
      const response = await fetch(`${gateway.url}/fal/proxy`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(target ? { 'x-fal-target-url': target } : {}) },
        body: '{}',
      });
      expect(response.status, String(target)).toBe(400);
      expect(((await response.json()) as { detail: string }).detail).toMatch(/^Invalid request/);
    }
    expect(falStats().submits).toBe(0);
  });

  it('secured: submit needs the gateway key (sent by the client as its credentials), errors in fal shape', async () => {
    gateway = await startTestGateway({ GATEWAY_API_KEYS: 'gw-key-0123456789abcdef' });
    const anonymous = await rejection(proxied(gateway.url, 'wrong-key-123').queue.submit(FLUX, { input: { prompt: 'x' } }));
    expect(anonymous).toBeInstanceOf(ApiError);
    expect(anonymous).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    const fal = proxied(gateway.url, 'gw-key-0123456789abcdef');
    const { data } = await fal.subscribe(FLUX, { input: { prompt: 'keyed --sim-steps 1 --sim-interval 20' }, mode: 'streaming' });
    expect((data as FluxOutput).prompt).toBe('keyed --sim-steps 1 --sim-interval 20');
    const submitted = await fal.queue.submit(FLUX, { input: { prompt: 'tokened --sim-steps 1 --sim-interval 20' } });
    const { subscribe_token } = submitted as unknown as { subscribe_token: string };
    const status = await until(
      () => fetch(`${submitted.status_url}?token=${encodeURIComponent(subscribe_token)}`),
      (response) => response.status === 200,
    );
    expect(((await status.json()) as { status: string }).status).toBe('COMPLETED');
    const noToken = await fetch(submitted.status_url);
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toMatchObject({ detail: expect.any(String) });
  });
});

const messages = (status: QueueStatus) => ('logs' in status ? (status.logs ?? []).map((line) => line.message) : []);
const steps = (n: number) => Array.from({ length: n }, (_, i) => `step ${i + 1}/${n}`);

describe.each([
  ['the memory bus', false],
  ['Redis', true],
])('log lines of a polled status, on %s', (_name, onRedis) => {
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    if (onRedis) redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  const start = (env: Record<string, string> = {}) => startTestGateway({ ...(redis ? { REDIS_URL: redis.url } : {}), ...env });

  it('queue.status({logs:true}) answers every line so far in order, stream events carry their new lines only, logs=0 none', async () => {
    gateway = await start();
    const fal = rewritten(gateway.url);
    const { request_id: requestId } = await fal.queue.submit(FLUX, { input: { prompt: 'logs --sim-steps 5 --sim-interval 60' } });
    // Mid-job: at least three lines so far, every one of them.
    const midway = await until(
      () => fal.queue.status(FLUX, { requestId, logs: true }),
      (status) => messages(status).length >= 3,
    );
    expect(messages(midway)).toEqual(steps(5).slice(0, messages(midway).length));
    const stream = await fal.queue.streamStatus(FLUX, { requestId, logs: true });
    const events: QueueStatus[] = [];
    stream.on('data', (data: QueueStatus) => void events.push(data));
    await stream.done();
    // Each stored status carries one new line at most, and together they carry each line once.
    expect(events.every((event) => messages(event).length <= 1)).toBe(true);
    expect(events.flatMap(messages)).toEqual(steps(5));
    const done = await fal.queue.status(FLUX, { requestId, logs: true });
    expect(done.status).toBe('COMPLETED');
    expect(messages(done)).toEqual(steps(5));
    expect('logs' in done && done.logs?.[0]).toMatchObject({ level: 'INFO', source: 'USER', timestamp: expect.any(String) });
    for (const query of ['?logs=0', '']) {
      const plain = await fetch(`${gateway.url}/fal/queue/fal-ai/flux/requests/${requestId}/status${query}`);
      expect(plain.status).toBe(200);
      expect(await plain.json()).toMatchObject({ status: 'COMPLETED', logs: [] });
    }
  });

  it('the polled status keeps every line when the history kept fewer events (HISTORY_MAX_EVENTS)', async () => {
    gateway = await start({ HISTORY_MAX_EVENTS: '3' });
    const fal = rewritten(gateway.url);
    const { request_id: requestId } = await fal.queue.submit(FLUX, { input: { prompt: 'trimmed --sim-steps 6 --sim-interval 20' } });
    const done = await until(
      () => fal.queue.status(FLUX, { requestId, logs: true }),
      (status) => status.status === 'COMPLETED',
    );
    expect(messages(done)).toEqual(steps(6));
  });

  it('polling-mode subscribe: each update has every line so far, the COMPLETED one all of them', async () => {
    gateway = await start();
    const fal = proxied(gateway.url);
    const updates: QueueStatus[] = [];
    await fal.subscribe(FLUX, {
      input: { prompt: 'polled logs --sim-steps 4 --sim-interval 40' },
      logs: true,
      pollInterval: 20,
      onQueueUpdate: (update) => void updates.push(update),
    });
    for (const update of updates) expect(steps(4).slice(0, messages(update).length)).toEqual(messages(update));
    expect(updates.at(-1)?.status).toBe('COMPLETED');
    expect(messages(updates.at(-1)!)).toEqual(steps(4));
  });
});
