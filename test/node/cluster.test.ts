import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { type SseResult, createJobId, ids, readSse, streamUrl } from '../support/sse.ts';

// Three gateway processes (A, B, C) on one Redis, one simulator. Each gateway reaches the
// simulator through its own port, so every upstream request is attributed to an instance.

interface UpstreamRequest {
  instance: string;
  method: string;
  path: string;
}

interface Payload {
  event: string;
  seq: number;
  jobId?: string;
  job?: { jobid: string; status: string; response?: { progress_percent?: number } };
}

let redis: RedisServer;
let raw: Redis;
let simulator: Simulator;
const upstreamServers: ServerType[] = [];
const upstreamLog: UpstreamRequest[] = [];
const gateways: Record<string, GatewayProcess> = {};
let A: GatewayProcess;
let B: GatewayProcess;
let C: GatewayProcess;

function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<ServerType> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server));
  });
}

/** A port in front of the simulator that records which gateway asked what. */
async function upstreamFor(instance: string): Promise<string> {
  const server = await listen((request) => {
    upstreamLog.push({ instance, method: request.method, path: decodeURIComponent(new URL(request.url).pathname) });
    return simulator.fetch(request);
  });
  upstreamServers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/midjourney`;
}

async function startInstance(name: string): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess(name, {
    UPSTREAM_URL: await upstreamFor(name),
    UPSTREAM_TOKEN: 'cluster-test-token',
    REDIS_URL: redis.url,
    LOG_LEVEL: 'warn',
    POLL_INTERVAL_MS: '100',
    LEASE_MS: '1000',
  });
  gateways[name] = gateway;
  return gateway;
}

beforeAll(async () => {
  redis = await startRedisServer();
  raw = new Redis(redis.url);
  simulator = createSimulator({ maxJobs: 1000 });
  [A, B, C] = (await Promise.all(['A', 'B', 'C'].map(startInstance))) as [GatewayProcess, GatewayProcess, GatewayProcess];
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(gateways).map((g) => g.stop()));
  for (const gateway of Object.values(gateways)) expect(gateway.output()).not.toContain('cluster-test-token');
  simulator?.close();
  for (const server of upstreamServers) server.close();
  await raw?.quit();
  await redis?.stop();
});

const parse = (data: string) => JSON.parse(data) as Payload;
const payloads = (result: SseResult) => result.events.map((e) => parse(e.data));
const jobOf = (p: Payload) => p.jobId ?? p.job?.jobid;
const subscribe = (gateway: GatewayProcess, jobId: string, headers: Record<string, string> = {}) =>
  readSse(streamUrl(gateway.url, jobId), { headers, timeoutMs: 30_000 });

/** Every event Redis holds for the job, as (seq, data) pairs. */
async function storedEvents(jobId: string): Promise<{ id: number; data: string }[]> {
  const entries = (await raw.xrange(`sse-relay:{midjourney-v3:${jobId}}:events`, '-', '+')) as [string, string[]][];
  return entries.map(([id, fields]) => ({ id: Number(id.split('-')[0]), data: fields[fields.indexOf('d') + 1] as string }));
}

const received = (result: SseResult) => result.events.map((e) => ({ id: Number(e.id), data: e.data }));

function expectStrictlyIncreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] as number);
}

const requestsFor = (jobId: string, method: string) =>
  upstreamLog.filter((r) => r.method === method && r.path === `/v3/midjourney/jobs/${jobId}`);

describe('three gateways on one Redis', () => {
  it('fans a job created on A out to 100 subscribers on A, B and C, once each, in order, over one upstream stream', async () => {
    const streamsBefore = simulator.stats().streamsServed;
    const createsBefore = upstreamLog.filter((r) => r.method === 'POST').length;
    const jobId = await createJobId(A.url, 'fan out --sim-steps 20 --sim-interval 25');
    const instances = [A, B, C];
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => subscribe(instances[i % 3] as GatewayProcess, jobId)));

    const stored = await storedEvents(jobId);
    expect(stored[0]?.id).toBe(0);
    expect(parse(stored.at(-1)?.data ?? '{}').event).toBe('midjourney_completed');
    expectStrictlyIncreasing(stored.map((e) => e.id));
    for (const result of results) {
      expect(result.status).toBe(200);
      expect(received(result)).toEqual(stored);
    }

    const late = await subscribe(C, jobId);
    expect(received(late)).toEqual(stored);
    const again = await fetch(streamUrl(C.url, jobId), { headers: { 'Last-Event-ID': String(stored.at(-1)?.id) } });
    expect(again.status).toBe(204);

    for (const gateway of instances) {
      const response = await fetch(`${gateway.url}/v3/midjourney/jobs/${encodeURIComponent(jobId)}`);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { jobid: string; status: string }).status).toBe('completed');
    }
    expect(simulator.stats().streamsServed - streamsBefore).toBe(1);
    expect(upstreamLog.filter((r) => r.method === 'POST').length - createsBefore).toBe(1);
    expect(requestsFor(jobId, 'GET')).toEqual([]);
  }, 30_000);

  it('keeps 20 concurrent jobs apart across the three', async () => {
    const instances = [A, B, C];
    const jobIds = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createJobId((instances[i % 3] as GatewayProcess).url, `job ${i} --sim-steps 5 --sim-interval 20`),
      ),
    );
    expect(new Set(jobIds).size).toBe(20);
    await Promise.all(
      jobIds.map(async (jobId) => {
        const results = await Promise.all(instances.map((gateway) => subscribe(gateway, jobId)));
        const stored = await storedEvents(jobId);
        for (const result of results) {
          expect(received(result)).toEqual(stored);
          expect(payloads(result).map(jobOf)).toEqual(payloads(result).map(() => jobId));
          expect(payloads(result).at(-1)?.event).toBe('midjourney_completed');
        }
      }),
    );
  }, 30_000);

  it('has exactly one instance poll a job created directly on the simulator', async () => {
    const created = await simulator.fetch(
      new Request('http://sim/v3/midjourney/jobs/imagine', {
        method: 'POST',
        headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: 'outside --sim-steps 3 --sim-interval 400', stream: false }),
      }),
    );
    expect(created.status).toBe(201);
    const jobId = ((await created.json()) as { jobid: string }).jobid;

    let firstSeen: () => void = () => {};
    const seenOnB = new Promise<void>((resolve) => (firstSeen = resolve));
    const first = readSse(streamUrl(B.url, jobId), {
      timeoutMs: 30_000,
      stopWhen: (events) => {
        if (events.length > 0) firstSeen();
        return false;
      },
    });
    await seenOnB;
    const others = await Promise.all([B, A, C, A, C].map((gateway) => subscribe(gateway, jobId)));
    const results = [await first, ...others];

    const stored = await storedEvents(jobId);
    const statuses = stored.map((e) => parse(e.data).job?.status);
    expect(statuses.at(-1)).toBe('completed');
    expect(statuses).toContain('progress');
    expect(parse(stored.at(-1)?.data ?? '{}').event).toBe('midjourney_completed');
    for (const result of results) expect(received(result)).toEqual(stored);

    const pollers = new Set(requestsFor(jobId, 'GET').map((r) => r.instance));
    expect([...pollers]).toEqual(['B']);
    expect(simulator.stats().polls[jobId]).toBe(requestsFor(jobId, 'GET').length);
    expect(simulator.stats().requests.filter((r) => r.method === 'GET' && decodeURIComponent(r.path).endsWith(jobId)).length).toBe(
      requestsFor(jobId, 'GET').length,
    );
  }, 30_000);

  it('lets subscribers join and resume while events flow every millisecond, missing and repeating nothing', async () => {
    for (let round = 0; round < 20; round++) {
      const jobId = await createJobId(A.url, `race ${round} --sim-steps 60 --sim-interval 1`);
      const joinAfter = (ms: number, run: () => Promise<{ id: number; data: string }[]>) =>
        new Promise<{ id: number; data: string }[]>((resolve, reject) => setTimeout(() => run().then(resolve, reject), ms));
      const resumed = async (from: GatewayProcess, to: GatewayProcess, after: number) => {
        const head = await readSse(streamUrl(from.url, jobId), { timeoutMs: 30_000, stopWhen: (events) => events.length >= after });
        const lastId = head.events.at(-1)?.id ?? '-1';
        const tail = await subscribe(to, jobId, { 'Last-Event-ID': lastId });
        return [...received(head), ...received(tail)];
      };
      const runs = await Promise.all([
        joinAfter(round % 7, async () => received(await subscribe(B, jobId))),
        joinAfter((round * 3) % 11, async () => received(await subscribe(C, jobId))),
        joinAfter(round % 5, () => resumed(C, B, 1 + ((round * 7) % 40))),
        joinAfter(round % 3, () => resumed(B, A, 1 + ((round * 13) % 50))),
      ]);
      const stored = await storedEvents(jobId);
      expect(stored).toHaveLength(64);
      for (const run of runs) expect(run).toEqual(stored);
    }
  }, 40_000);
});

describe('failover', () => {
  it('moves the job to another instance when its owner dies mid-job', async () => {
    const D = await startInstance('D');
    const jobId = await createJobId(D.url, 'failover --sim-steps 8 --sim-interval 300');
    let killed: Promise<void> | undefined;
    const result = await readSse(streamUrl(B.url, jobId), {
      timeoutMs: 30_000,
      stopWhen: (events) => {
        if (!killed && events.some((e) => parse(e.data).event === 'midjourney_progress')) killed = D.stop('SIGKILL');
        return false;
      },
    });
    await killed;
    const seen = payloads(result);
    expect(seen[0]?.event).toBe('initialized');
    expect(seen.at(-1)?.event).toBe('midjourney_completed');
    expectStrictlyIncreasing(ids(result.events));
    expect(received(result)).toEqual(await storedEvents(jobId));
    expect(new Set(requestsFor(jobId, 'GET').map((r) => r.instance))).toEqual(new Set(['B']));
  }, 30_000);
});
