import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import { collect, createReadableStream, gatewayReplicate } from '../../scenarios/sdk-replicate.ts';
import { type TestGateway, startTestGateway } from '../../support/gateway.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';

// Two gateways on one Redis and one simulator: a prediction created on one is read and streamed on the other.
let redis: RedisServer;
let sim: Simulator;
let simServer: ServerType;
let a: TestGateway | undefined;
let b: TestGateway;

beforeAll(async () => {
  redis = await startRedisServer();
  sim = createSimulator({ defaultIntervalMs: 5 });
  simServer = serve({ fetch: sim.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => simServer.once('listening', () => resolve()));
  const { port } = simServer.address() as AddressInfo;
  const env = {
    REDIS_URL: redis.url,
    REPLICATE_API_TOKEN: 'r8_shared-token-0123',
    REPLICATE_BASE_URL: `http://127.0.0.1:${port}/replicate/v1`,
    POLL_INTERVAL_MS: '30',
  };
  a = await startTestGateway(env);
  b = await startTestGateway(env);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  sim?.close();
  await new Promise<void>((resolve) => simServer.close(() => resolve()));
  await redis?.stop();
});

describe('replicate on Redis, two instances', () => {
  it('a prediction created on one is streamed whole on the other, over the one upstream stream, and kept after its creator is gone', async () => {
    const created = await gatewayReplicate((a as TestGateway).url).predictions.create({
      model: 'meta/llama-sim',
      input: { prompt: 'shared --sim-steps 6 --sim-interval 30' },
    });
    const onB = gatewayReplicate(b.url);
    const seen = await onB.predictions.get(created.id);
    expect(seen.urls.stream).toMatch(new RegExp(`^${b.url}/replicate/v1/predictions/${created.id}/stream`));
    const events = (await collect(createReadableStream({ url: seen.urls.stream as string, fetch }))).map((e) => `${e.event} ${e.data}`);
    expect(events.filter((e) => e.startsWith('output '))).toHaveLength(6);
    expect(events.at(-1)).toBe('done {}');
    expect(
      sim.replicateStats().requests.filter((r) => r.path.endsWith(`/predictions/${created.id}`) && r.path.includes('/streaming/')),
    ).toHaveLength(1);
    await a?.close();
    a = undefined;
    const kept = await onB.predictions.get(created.id);
    expect(kept).toMatchObject({ id: created.id, status: 'succeeded' });
    expect(kept.output).toHaveLength(6);
  });
});
