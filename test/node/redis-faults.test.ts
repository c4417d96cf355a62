import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { EventSourceMessage } from 'eventsource-parser';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { createJobId, readSse, streamUrl } from '../support/sse.ts';
import { sleep, until } from '../support/until.ts';

/** Redis pauses and lease takeovers take seconds: waits get 30 s. */
const PATIENT_MS = 30_000;

// Two gateways (A, B) on one real redis-server that the tests pause (SIGSTOP) or restart
// empty, one simulator. Each gateway reaches the simulator through its own port, so every
// upstream request is attributed to an instance.

const LEASE_MS = 500;

let redis: RedisServer;
let raw: Redis;
let simulator: Simulator;
const servers: ServerType[] = [];
const upstreamLog: { instance: string; method: string; path: string }[] = [];
let A: TestGateway;
let B: TestGateway;

async function upstreamFor(instance: string): Promise<string> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve(
      {
        fetch: (request) => {
          upstreamLog.push({ instance, method: request.method, path: decodeURIComponent(new URL(request.url).pathname) });
          return simulator.fetch(request);
        },
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(s),
    );
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/midjourney`;
}

async function gateway(name: string): Promise<TestGateway> {
  return startTestGateway({
    UPSTREAM_URL: await upstreamFor(name),
    UPSTREAM_TOKEN: 'redis-faults-token',
    REDIS_URL: redis.url,
    INSTANCE_ID: name,
    LEASE_MS: String(LEASE_MS),
    POLL_INTERVAL_MS: '50',
    LOG_LEVEL: 'info',
  });
}

beforeAll(async () => {
  redis = await startRedisServer();
  raw = new Redis(redis.url, { maxRetriesPerRequest: null });
  simulator = createSimulator({ maxJobs: 1000 });
  [A, B] = await Promise.all([gateway('A'), gateway('B')]);
}, 60_000);

afterAll(async () => {
  redis?.resume();
  await Promise.all([A?.close(), B?.close()]);
  simulator?.close();
  for (const server of servers) server.close();
  raw?.disconnect();
  await redis?.stop();
});

const lastSeq = async (jobId: string) =>
  Number((await raw.hget(`sse-relay:{midjourney-v3:${jobId}}:meta`, 'lastSeq').catch(() => null)) ?? -1);
const terminalSeq = async (jobId: string) => raw.hget(`sse-relay:{midjourney-v3:${jobId}}:meta`, 'terminalSeq').catch(() => null);
const polls = (instance: string, jobId: string) =>
  upstreamLog.filter((r) => r.instance === instance && r.method === 'GET' && r.path === `/v3/midjourney/jobs/${jobId}`).length;

const received = (events: EventSourceMessage[]) =>
  events.filter((e) => e.id !== undefined).map((e) => ({ id: Number(e.id), data: e.data }));

/** Every event of the job's full history is either received or inside an announced gap. */
function expectNoSilentHole(events: EventSourceMessage[], full: { id: number }[]): void {
  const covered = new Set<number>();
  for (const event of events) {
    if (event.event === 'gap') {
      const { from, to } = JSON.parse(event.data) as { from: number; to: number };
      for (let seq = from; seq <= to; seq++) covered.add(seq);
    } else if (event.id !== undefined) covered.add(Number(event.id));
  }
  expect(full.filter((e) => !covered.has(e.id)).map((e) => e.id)).toEqual([]);
}

/** Every event Redis holds for the job. */
async function storedEvents(jobId: string): Promise<{ id: number; data: string }[]> {
  const entries = (await raw.xrange(`sse-relay:{midjourney-v3:${jobId}}:events`, '-', '+')) as [string, string[]][];
  return entries.map(([id, fields]) => ({ id: Number(id.split('-')[0]), data: fields[fields.indexOf('d') + 1] as string }));
}

describe('Redis paused longer than the lease', () => {
  it('leaves the job with the instance reading its stream: a poller that took the lease stops', async () => {
    const jobId = await createJobId(A.url, 'paused --sim-steps 99 --sim-interval 150');
    const watching = readSse(streamUrl(B.url, jobId), { timeoutMs: 60_000 });
    await until(async () => (await lastSeq(jobId)) >= 3, PATIENT_MS);
    expect(A.relay.counts().followed).toContain(jobId);

    // B must win the race for the lapsed lease against A's own renewal, which is a coin toss
    // (both wait on a frozen Redis): pause again until it does.
    let outcome = '';
    for (let attempt = 0; attempt < 10 && outcome !== 'following'; attempt++) {
      redis.pause();
      await sleep(LEASE_MS * 2); // the fault: longer than the lease
      redis.resume();
      // What B's watchdog does for its subscriber, done at once.
      outcome = await B.relay.check(jobId).catch((err: unknown) => String(err));
    }
    expect(outcome).toBe('following');

    // The stream holder claims the job back and B steps back, long before the job ends.
    await until(() => !B.relay.counts().followed.includes(jobId) && A.relay.counts().followed.includes(jobId), PATIENT_MS);
    const pollsWhenStopped = polls('B', jobId);

    const result = await watching;
    expect(await terminalSeq(jobId)).not.toBeNull();
    const ids = result.events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1] as number);
    expect(JSON.parse(result.events.at(-1)?.data ?? '{}').event).toBe('midjourney_completed');
    expect(received(result.events)).toEqual(await storedEvents(jobId));
    expect(polls('B', jobId)).toBe(pollsWhenStopped);
    expect(polls('A', jobId)).toBe(0);
    expect(A.logs.join('')).toContain('claimed it back');
  }, 90_000);
});

describe('Redis restarted empty mid-job', () => {
  it('announces the events it lost to a late joiner on a cold instance as a gap, never a silent hole', async () => {
    const jobId = await createJobId(A.url, 'restart --sim-steps 30 --sim-interval 60');
    // The job's full history, as a subscriber that watched it live from the start saw it.
    const live = readSse(streamUrl(A.url, jobId), { timeoutMs: 60_000 });
    await until(async () => (await lastSeq(jobId)) >= 5, PATIENT_MS);
    await redis.stop();
    await redis.start();
    await until(async () => (await terminalSeq(jobId)) !== null, 60_000);

    const late = await readSse(streamUrl(B.url, jobId), { timeoutMs: 30_000 });
    expect(late.status).toBe(200);
    const gaps = late.events.filter((e) => e.event === 'gap');
    expect(gaps.length).toBeGreaterThan(0);
    expect(JSON.parse(gaps[0]?.data ?? '{}').from).toBe(0);
    const full = received((await live).events);
    expect(JSON.parse(full.at(-1)?.data ?? '{}').event).toBe('midjourney_completed');
    expectNoSilentHole(late.events, full);
    expect(JSON.parse(late.events.at(-1)?.data ?? '{}').event).toBe('midjourney_completed');
  }, 90_000);
});
