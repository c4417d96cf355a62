import { ApiError } from '@fal-ai/client';
import type { QueueStatus } from '@fal-ai/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAL_EARLY_END } from '../../../src/profiles/fal-queue/profile.ts';
import { FLUX, type FluxOutput, falPolledLogScenarios, messages, proxiedFal, rewrittenFal, steps } from '../../scenarios/sdk-fal.ts';
import { type TestGateway, startTestGateway } from '../../support/gateway.ts';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';
import { until } from '../../support/until.ts';

// The official @fal-ai/client against the Node gateway, in settings and failures the shared
// scenarios (test/scenarios/sdk-fal.ts, run on Node and in workerd) do not set up.

let gateway: TestGateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** How a promise settled: its value, or its error (never an unhandled rejection). */
const settled = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value, error: undefined as unknown }),
    (error: unknown) => ({ value: undefined, error }),
  );

describe('@fal-ai/client through the Node gateway, in its own settings', () => {
  it('a request past the gateway deadline ends COMPLETED for pollers and streams, its result a 500 with the reason', async () => {
    gateway = await startTestGateway({ JOB_DEADLINE_MS: '1000' });
    const fal = proxiedFal(gateway.url);
    const submitted = await fal.queue.submit(FLUX, { input: { prompt: 'stuck --sim-steps 5 --sim-interval 60000' } });
    const stream = await fal.queue.streamStatus(FLUX, { requestId: submitted.request_id });
    const done = (await stream.done()) as QueueStatus & { error?: string };
    expect(done).toMatchObject({ status: 'COMPLETED', error: expect.stringContaining('deadline') });
    expect(await fal.queue.status(FLUX, { requestId: submitted.request_id })).toMatchObject({ status: 'COMPLETED' });
    const error = await rejection(fal.queue.result(FLUX, { requestId: submitted.request_id }));
    expect(error).toMatchObject({ status: 500, body: { error_type: 'relay_gave_up' } });
  });

  it('secured: submit needs the gateway key (sent by the client as its credentials), errors in fal shape', async () => {
    gateway = await startTestGateway({ GATEWAY_API_KEYS: 'gw-key-0123456789abcdef' });
    const anonymous = await rejection(proxiedFal(gateway.url, 'wrong-key-123').queue.submit(FLUX, { input: { prompt: 'x' } }));
    expect(anonymous).toBeInstanceOf(ApiError);
    expect(anonymous).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    const fal = proxiedFal(gateway.url, 'gw-key-0123456789abcdef');
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

describe('log lines of a polled status, on Redis', () => {
  let redis: RedisServer;
  let onRedis: TestGateway;
  beforeAll(async () => {
    redis = await startRedisServer();
    onRedis = await startTestGateway({ REDIS_URL: redis.url, POLL_INTERVAL_MS: '30' });
  });
  afterAll(async () => {
    await onRedis?.close();
    await redis?.stop();
  });
  falPolledLogScenarios(() => onRedis.scenarioTarget());
});

describe.each([
  ['the memory bus', false],
  ['Redis', true],
])('HISTORY_MAX_EVENTS on %s', (_name, useRedis) => {
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    if (useRedis) redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('the polled status keeps every line when the history kept fewer events (HISTORY_MAX_EVENTS)', async () => {
    gateway = await startTestGateway({ ...(redis ? { REDIS_URL: redis.url } : {}), HISTORY_MAX_EVENTS: '3' });
    const fal = rewrittenFal(gateway.url);
    const { request_id: requestId } = await fal.queue.submit(FLUX, { input: { prompt: 'trimmed --sim-steps 6 --sim-interval 20' } });
    const done = await until(
      () => fal.queue.status(FLUX, { requestId, logs: true }),
      (status) => status.status === 'COMPLETED',
    );
    expect(messages(done)).toEqual(steps(6));
  });
});

describe('a gateway process drained by SIGTERM while @fal-ai/client streams', () => {
  it('ends the status streams with data the client rejects on: streaming subscribe and streamStatus fail, never a finish', async () => {
    const drained = await startGatewayProcess('fal-drain', { LOG_LEVEL: 'info', DRAIN_MS: '500' });
    try {
      const fal = proxiedFal(drained.url);
      const updates: QueueStatus[] = [];
      let requestId = '';
      const subscribed = settled(
        fal.subscribe(FLUX, {
          input: { prompt: 'drained --sim-steps 99 --sim-interval 300' },
          logs: true,
          mode: 'streaming',
          onEnqueue: (id) => void (requestId = id),
          onQueueUpdate: (update) => void updates.push(update),
        }),
      );
      const other = await fal.queue.submit(FLUX, { input: { prompt: 'watched --sim-steps 99 --sim-interval 300' } });
      const stream = await fal.queue.streamStatus(FLUX, { requestId: other.request_id, logs: true });
      const seen: QueueStatus[] = [];
      stream.on('data', (data: QueueStatus) => void seen.push(data));
      const watched = settled(stream.done());
      // Both streams are open and have brought a running status.
      await until(
        () => [updates, seen].every((each) => each.some((status) => status.status === 'IN_PROGRESS')),
        (open) => open,
        30_000,
      );
      await drained.stop('SIGTERM');
      for (const { error } of await Promise.all([subscribed, watched])) {
        // The client's own message quotes the early-end data: `Unexpected token 's', "stream cut"... is not valid JSON`.
        expect(error).toBeInstanceOf(SyntaxError);
        expect(String((error as Error).message)).toContain(`"${FAL_EARLY_END.slice(0, 10)}"`);
      }
      expect(requestId).not.toBe('');
      expect([...updates, ...seen].some((status) => status.status === 'COMPLETED')).toBe(false);
      expect(drained.output()).toContain('"msg":"drain done"');
    } finally {
      await drained.stop('SIGKILL');
    }
  }, 60_000);
});
