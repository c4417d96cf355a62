import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import { keySlot } from '../../src/node/redis-slots.ts';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { type SseResult, createJobId, readSse, streamUrl } from '../support/sse.ts';
import { until } from '../support/until.ts';

// Three gateway processes (A, B, C) on one Redis Cluster of three masters with a replica each,
// one simulator reached through a port per gateway (so every upstream request names its instance).
// Mid-job, the cluster loses a master, fails over by hand and moves a live job's slot.

let redis: RedisCluster;
let raw: Cluster;
let simulator: Simulator;
const upstreamServers: ServerType[] = [];
const upstreamLog: { instance: string; method: string; path: string }[] = [];
const gateways: GatewayProcess[] = [];

async function upstreamFor(instance: string): Promise<string> {
  const server = await new Promise<ServerType>((resolve) => {
    const started = serve(
      {
        fetch: (request) => {
          upstreamLog.push({ instance, method: request.method, path: decodeURIComponent(new URL(request.url).pathname) });
          return simulator.fetch(request);
        },
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(started),
    );
  });
  upstreamServers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/midjourney`;
}

beforeAll(async () => {
  redis = await startRedisCluster();
  raw = new Cluster(redis.ports.map((port) => ({ host: '127.0.0.1', port })));
  simulator = createSimulator({ maxJobs: 1000 });
  for (const name of ['A', 'B', 'C']) {
    gateways.push(
      await startGatewayProcess(name, {
        UPSTREAM_URL: await upstreamFor(name),
        UPSTREAM_TOKEN: 'cluster-test-token',
        REDIS_CLUSTER_NODES: redis.seeds,
        LOG_LEVEL: 'warn',
        POLL_INTERVAL_MS: '100',
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  for (const gateway of gateways) expect(gateway.output()).not.toContain('cluster-test-token');
  simulator?.close();
  for (const server of upstreamServers) server.close();
  raw?.disconnect();
  await redis?.stop();
});

const keyOf = (jobId: string) => `sse-relay:{midjourney-v3:${jobId}}`;
const masterOf = (jobId: string) => redis.ownerOf(keySlot(keyOf(jobId)));

/** Every event the cluster holds for the job, as (seq, data) pairs. */
async function storedEvents(jobId: string): Promise<{ id: number; data: string }[]> {
  const entries = (await raw.xrange(`${keyOf(jobId)}:events`, '-', '+')) as [string, string[]][];
  return entries.map(([id, fields]) => ({ id: Number(id.split('-')[0]), data: fields[fields.indexOf('d') + 1] as string }));
}

const received = (result: SseResult) => result.events.map((e) => ({ id: Number(e.id), data: e.data }));
const eventName = (data: string) => (JSON.parse(data) as { event: string }).event;

/** Every subscriber got every stored event once, in order, ending with the terminal; the job had one upstream stream and no poll. */
async function expectDeliveredOnce(jobId: string, results: SseResult[], streamsBefore: number): Promise<void> {
  const stored = await storedEvents(jobId);
  expect(stored[0]?.id).toBe(0);
  expect(eventName(stored.at(-1)?.data ?? '{}')).toBe('midjourney_completed');
  for (const result of results) {
    expect(result.status).toBe(200);
    expect(received(result)).toEqual(stored);
  }
  expect(simulator.stats().streamsServed - streamsBefore).toBe(1);
  expect(upstreamLog.filter((r) => r.method === 'GET' && r.path.endsWith(`/jobs/${jobId}`))).toEqual([]);
}

/** Runs a job created on A with two subscribers on each gateway; `fault` runs (given the job's master) once every subscriber has an event. */
async function jobThrough(prompt: string, fault: (master: number, jobId: string) => Promise<void>): Promise<void> {
  const streamsBefore = simulator.stats().streamsServed;
  const jobId = await createJobId((gateways[0] as GatewayProcess).url, prompt);
  let faulted: Promise<void> | undefined;
  const subscribers = gateways.flatMap((gateway) => [0, 1].map(() => gateway));
  const streaming = new Set<number>();
  const results = await Promise.all(
    subscribers.map((gateway, i) =>
      readSse(streamUrl(gateway.url, jobId), {
        timeoutMs: 60_000,
        stopWhen: (events) => {
          if (events.length > 0) streaming.add(i);
          if (!faulted && streaming.size === subscribers.length) faulted = masterOf(jobId).then((master) => fault(master, jobId));
          return false;
        },
      }),
    ),
  );
  await faulted;
  await expectDeliveredOnce(jobId, results, streamsBefore);
}

describe('three gateways on a Redis Cluster', () => {
  it('are ready: every shard carries their canary', async () => {
    for (const gateway of gateways) {
      const response = await fetch(`${gateway.url}/readyz`);
      expect(response.status).toBe(200);
    }
  });

  it('fan jobs on every master out to subscribers on A, B and C, once each, in order, over one upstream stream each', async () => {
    const byMaster = new Map<number, string>();
    const streamsBefore = simulator.stats().streamsServed;
    const jobIds: string[] = [];
    while (byMaster.size < 3 && jobIds.length < 40) {
      const jobId = await createJobId((gateways[jobIds.length % 3] as GatewayProcess).url, `spread --sim-steps 8 --sim-interval 20`);
      jobIds.push(jobId);
      byMaster.set(await masterOf(jobId), jobId);
    }
    expect(byMaster.size).toBe(3);
    for (const jobId of jobIds) {
      const results = await Promise.all(gateways.map((gateway) => readSse(streamUrl(gateway.url, jobId), { timeoutMs: 30_000 })));
      const stored = await storedEvents(jobId);
      expect(eventName(stored.at(-1)?.data ?? '{}')).toBe('midjourney_completed');
      for (const result of results) expect(received(result)).toEqual(stored);
    }
    expect(simulator.stats().streamsServed - streamsBefore).toBe(jobIds.length);
  }, 60_000);

  it('delivers everything when the job’s master is killed mid-job and its replica promoted', async () => {
    await jobThrough('kill --sim-steps 30 --sim-interval 150', async (master) => void (await redis.killMaster(master)));
  }, 60_000);

  it('delivers everything across a manual CLUSTER FAILOVER of the job’s master', async () => {
    await jobThrough('failover --sim-steps 30 --sim-interval 100', async (master) => void (await redis.failover(master)));
  }, 60_000);

  it('delivers everything when the live job’s slot moves to another master, the job ending before the old one lets go', async () => {
    await jobThrough('migrate --sim-steps 20 --sim-interval 100', async (master, jobId) => {
      const to = (await redis.nodes()).find((n) => n.role === 'master' && !n.failed && n.port !== master)?.port as number;
      // The rest of the job, its end included, is published on the new owner while subscribers may still listen on the old one.
      const ended = async () => eventName((await storedEvents(jobId)).at(-1)?.data ?? '{}') === 'midjourney_completed';
      await redis.migrateSlot(keySlot(keyOf(jobId)), to, () => until(ended, 'the job ended on the new owner'));
      expect(await masterOf(jobId)).toBe(to);
    });
  }, 60_000);

  it('are ready again after all of it', async () => {
    for (const gateway of gateways) {
      await until(async () => (await fetch(`${gateway.url}/readyz`)).status === 200, `${gateway.name} ready`);
    }
  });
});
