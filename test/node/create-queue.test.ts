import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { createJob, createJobId, readSse } from '../support/sse.ts';
import { until } from '../support/until.ts';

// Two gateways on one Redis in front of one simulator whose channel holds a single job, so a
// second create meets the upstream's 429 and, with `X-Queue: true`, waits in the shared queue.

const QUEUE = { 'X-Queue': 'true' };
const ORDER = 'sse-relay:{queue:midjourney-v3}:order';
const EXPIRY = 'sse-relay:{queue:midjourney-v3}:expiry';

let redis: RedisServer;
let raw: Redis;
let simulator: Simulator;
let simServer: ServerType;
let A: TestGateway;
let B: TestGateway;

beforeAll(async () => {
  redis = await startRedisServer();
  raw = new Redis(redis.url);
  simulator = createSimulator({ maxJobs: 1, token: 'queue-test-token' });
  simServer = await new Promise<ServerType>((resolve) => {
    const server = serve({ fetch: simulator.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server));
  });
  const env = {
    UPSTREAM_URL: `http://127.0.0.1:${(simServer.address() as AddressInfo).port}/v3/midjourney`,
    UPSTREAM_TOKEN: 'queue-test-token',
    REDIS_URL: redis.url,
    CREATE_QUEUE_MAX: '3',
    CREATE_QUEUE_POLL_MS: '50',
    LEASE_MS: '1000',
    POLL_INTERVAL_MS: '100',
  };
  [A, B] = await Promise.all([startTestGateway({ ...env, INSTANCE_ID: 'a' }), startTestGateway({ ...env, INSTANCE_ID: 'b' })]);
}, 60_000);

afterAll(async () => {
  await Promise.all([A?.close(), B?.close()]);
  simulator?.close();
  simServer?.close();
  await raw?.quit();
  await redis?.stop();
});

beforeEach(async () => {
  await until(() => simulator.stats().running === 0, 'the channel to be free');
});

/** Fills the channel with a job that runs for about a second. */
const occupy = () => createJobId(A.url, 'blocker --sim-steps 4 --sim-interval 250');
const queueSize = () => raw.zcard(ORDER);

describe('the opt-in create queue', () => {
  it('without X-Queue, a full channel is still the upstream 429 as JSON', async () => {
    await occupy();
    const response = await fetch(`${B.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'no queue', stream: false }),
    });
    expect(response.status).toBe(429);
    expect(await response.json()).toMatchObject({ code: 'upstream_rejected' });
  });

  it('streams queued positions, then the job; callers on two instances start in arrival order', async () => {
    await occupy();
    const seen: string[] = [];
    const first = createJob(B.url, 'first --sim-steps 2 --sim-interval 100', {}, { headers: QUEUE, timeoutMs: 60_000 });
    await until(async () => (await queueSize()) === 1, 'the first caller to queue');
    const second = createJob(A.url, 'second --sim-steps 1 --sim-interval 50', {}, { headers: QUEUE, timeoutMs: 60_000 });
    const [one, two] = await Promise.all([first, second]);
    for (const [name, result] of [
      ['first', one],
      ['second', two],
    ] as const) {
      expect(result.status).toBe(200);
      expect(result.retry).toBe(2000);
      const kinds = result.events.map((e) => e.event ?? 'message');
      expect(kinds[0]).toBe('queued');
      const submitted = kinds.indexOf('submitted');
      expect(kinds.slice(0, submitted).every((k) => k === 'queued')).toBe(true);
      expect(kinds.slice(submitted + 1).every((k) => k === 'message')).toBe(true);
      const info = JSON.parse(result.events[submitted]?.data ?? '{}') as { jobid: string; subscribe_token: string; stream_url: string };
      expect(info.stream_url).toContain(encodeURIComponent(info.jobid));
      expect(info.subscribe_token.split('.')).toHaveLength(3);
      const events = result.events.slice(submitted + 1).map((e) => JSON.parse(e.data) as { event: string; seq: number });
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
      expect(events.at(-1)?.event).toBe('midjourney_completed');
      seen.push(`${name}:${info.jobid}`);
    }
    const positions = (result: typeof one) => result.events.filter((e) => e.event === 'queued').map((e) => JSON.parse(e.data).position);
    expect(positions(one).every((p: number) => p === 1)).toBe(true);
    expect(positions(two)[0]).toBe(2);
    expect(positions(two).at(-1)).toBe(1);
    // FIFO: with one slot, the second caller's job was created upstream only after the first one's had ended.
    const jobTimes = (result: typeof one) => {
      const jobs = result.events
        .filter((e) => e.event === undefined)
        .map((e) => JSON.parse(e.data).job as { created: string; updated: string } | undefined);
      const known = jobs.filter((job) => job !== undefined);
      return { created: Date.parse(known[0]?.created ?? ''), ended: Date.parse(known.at(-1)?.updated ?? '') };
    };
    expect(jobTimes(two).created).toBeGreaterThanOrEqual(jobTimes(one).ended);
    expect(seen).toHaveLength(2);
    expect(await queueSize()).toBe(0);
  });

  it('a stream:false create waits in the queue and answers 201 once its job started', async () => {
    await occupy();
    const response = await fetch(`${B.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...QUEUE },
      body: JSON.stringify({ prompt: 'waits --sim-steps 1 --sim-interval 20', stream: false }),
    });
    expect(response.status).toBe(201);
    const job = (await response.json()) as { jobid: string; stream_url: string };
    expect(response.headers.get('x-job-id')).toBe(job.jobid);
    const stream = await readSse(`${B.url}${job.stream_url}`);
    expect(JSON.parse(stream.events.at(-1)?.data ?? '{}')).toMatchObject({ event: 'midjourney_completed' });
  });

  it('a caller that leaves while queued loses its entry and no job is started for it', async () => {
    await occupy();
    const jobsBefore = simulator.stats().jobs;
    const left = new AbortController();
    const reading = readSse(`${A.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...QUEUE },
      body: JSON.stringify({ prompt: 'leaves' }),
      stopWhen: (events) => events.some((e) => e.event === 'queued'),
    });
    const nonStreaming = fetch(`${B.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...QUEUE },
      body: JSON.stringify({ prompt: 'leaves too', stream: false }),
      signal: left.signal,
    }).catch(() => undefined);
    expect((await reading).events[0]?.event).toBe('queued');
    await until(async () => (await queueSize()) >= 1, 'the second caller to queue');
    left.abort();
    await nonStreaming;
    await until(async () => (await queueSize()) === 0, 'both entries to go');
    // The markers: a caller on each instance, queued after both left. The queue starts jobs one at a
    // time in arrival order on this one-slot channel, so once both markers' jobs ran, a job started
    // for a caller that left (its wait still going, or back in the queue) would have been counted.
    const markers = await Promise.all(
      [A, B].map((gw, i) => createJob(gw.url, `marker ${i} --sim-steps 0`, {}, { headers: QUEUE, timeoutMs: 60_000 })),
    );
    for (const marker of markers) expect(marker.events.some((e) => e.event === 'submitted')).toBe(true);
    expect(simulator.stats().jobs).toBe(jobsBefore + markers.length);
    expect(await queueSize()).toBe(0);
  });

  it('answers 503 queue_full with Retry-After when the queue is at CREATE_QUEUE_MAX', async () => {
    await occupy();
    const waiting = [0, 1, 2].map((i) =>
      fetch(`${(i % 2 ? A : B).url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...QUEUE },
        body: JSON.stringify({ prompt: `fill ${i} --sim-steps 0`, stream: false }),
      }),
    );
    await until(async () => (await queueSize()) === 3, 'three callers to queue');
    const full = await fetch(`${A.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...QUEUE },
      body: JSON.stringify({ prompt: 'one too many' }),
    });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('5');
    expect(await full.json()).toMatchObject({ code: 'queue_full' });
    for (const response of await Promise.all(waiting)) expect(response.status).toBe(201);
  });

  it('an entry whose instance died expires after LEASE_MS, and the callers behind it move up', async () => {
    await occupy();
    // What a killed instance leaves: an entry at the head nobody refreshes (expiry LEASE_MS ahead).
    const [seconds] = await raw.time();
    await raw.zadd(ORDER, 0, 'dead-instance-entry');
    await raw.zadd(EXPIRY, Number(seconds) * 1000 + 1000, 'dead-instance-entry');
    const result = await createJob(B.url, 'behind a dead one --sim-steps 0', {}, { headers: QUEUE, timeoutMs: 60_000 });
    const positions = result.events.filter((e) => e.event === 'queued').map((e) => JSON.parse(e.data).position as number);
    expect(positions[0]).toBe(2);
    expect(result.events.some((e) => e.event === 'submitted')).toBe(true);
    expect(await raw.zscore(ORDER, 'dead-instance-entry')).toBeNull();
  });

  it('rejects a malformed X-Queue header', async () => {
    const response = await fetch(`${A.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Queue': 'please' },
      body: JSON.stringify({ prompt: 'x' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'bad_request' });
  });
});

describe('the create queue on the memory bus', () => {
  it('a queued stream that waits past CREATE_QUEUE_MAX_WAIT_MS ends with a queue_error frame', async () => {
    const gw = await startTestGateway({
      SIM_MAX_JOBS: '1',
      CREATE_QUEUE_MAX: '5',
      CREATE_QUEUE_POLL_MS: '50',
      CREATE_QUEUE_MAX_WAIT_MS: '1000',
    });
    try {
      await createJobId(gw.url, 'blocker --sim-steps 20 --sim-interval 1000');
      const result = await createJob(gw.url, 'never starts', {}, { headers: QUEUE, timeoutMs: 60_000 });
      expect(result.status).toBe(200);
      expect(result.events[0]?.event).toBe('queued');
      const last = result.events.at(-1);
      expect(last?.event).toBe('queue_error');
      expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ code: 'queue_timeout', status: 503 });
      expect(result.events.some((e) => e.event === 'submitted')).toBe(false);
      const late = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...QUEUE },
        body: JSON.stringify({ prompt: 'waits too', stream: false }),
      });
      expect(late.status).toBe(503);
      expect(await late.json()).toMatchObject({ code: 'queue_timeout' });
    } finally {
      await gw.close();
    }
  });

  it('queues in-process on one gateway', async () => {
    const gw = await startTestGateway({ SIM_MAX_JOBS: '1', CREATE_QUEUE_MAX: '5', CREATE_QUEUE_POLL_MS: '50' });
    try {
      await createJobId(gw.url, 'blocker --sim-steps 3 --sim-interval 200');
      const result = await createJob(gw.url, 'queued --sim-steps 1 --sim-interval 10', {}, { headers: QUEUE, timeoutMs: 60_000 });
      expect(result.events[0]?.event).toBe('queued');
      expect(JSON.parse(result.events.at(-1)?.data ?? '{}')).toMatchObject({ event: 'midjourney_completed' });
    } finally {
      await gw.close();
    }
  });
});
