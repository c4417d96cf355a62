import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type SseResult, createJob } from '../support/sse.ts';
import { checkText } from './harness/checks.ts';
import { type Cluster, startCluster, startSimulatorUpstream } from './harness/cluster.ts';
import { until } from '../support/until.ts';

// The create queue across real gateway processes on one redis-server, in front of a simulator
// whose channel runs one job at a time: instances die and Redis forgets while callers wait.

const ORDER = 'sse-relay:{queue:midjourney-v3}:order';
const TIMEOUT = 90_000;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setUp() {
  const token = `ChaosCanary-${randomBytes(12).toString('hex')}`;
  const upstream = await startSimulatorUpstream(token, 1);
  cleanup.push(() => upstream.close());
  const cluster = await startCluster({
    instances: 2,
    upstreamUrl: upstream.url,
    token,
    env: { CREATE_QUEUE_MAX: '20', CREATE_QUEUE_POLL_MS: '100' },
  });
  cleanup.push(() => cluster.close());
  // A job that holds the channel's one slot until the test cancels it upstream.
  const blocker = await fetch(`${cluster.gateways[1]?.url}/v3/midjourney/jobs/imagine`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'blocker --sim-steps 99 --sim-interval 1000', stream: false }),
  });
  expect(blocker.status).toBe(201);
  const blockerId = ((await blocker.json()) as { jobid: string }).jobid;
  const free = () =>
    upstream.simulator.fetch(
      new Request(`http://sim/v3/midjourney/jobs/${encodeURIComponent(blockerId)}`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${token}` },
      }),
    );
  return { token, upstream, cluster, free };
}

/** A queued streaming create on `url`; resolves with what it got (a broken connection too). */
function queuedCaller(url: string, name: string): Promise<SseResult | Error> {
  return createJob(url, `${name} --sim-steps 1 --sim-interval 30`, {}, { headers: { 'X-Queue': 'true' }, timeoutMs: 60_000 }).catch(
    (err: Error) => err,
  );
}

/** Joins callers one by one, each after the previous one is in the queue (so arrival order is known). */
async function joinInOrder(cluster: Cluster, callers: { url: string; name: string }[]): Promise<Promise<SseResult | Error>[]> {
  const running: Promise<SseResult | Error>[] = [];
  for (const [i, caller] of callers.entries()) {
    running.push(queuedCaller(caller.url, caller.name));
    await until(async () => (await cluster.raw.zcard(ORDER)) === i + 1, { what: `${caller.name} to queue`, timeoutMs: 30_000 });
  }
  return running;
}

const createdAt = (result: SseResult) => {
  const job = result.events
    .map((e) => (e.event === undefined ? (JSON.parse(e.data).job as { created?: string } | undefined) : undefined))
    .find((j) => j?.created);
  return Date.parse(job?.created ?? '');
};

function expectServed(result: SseResult | Error, token: string): SseResult {
  if (result instanceof Error) throw result;
  expect(result.status).toBe(200);
  expect(result.events[0]?.event).toBe('queued');
  expect(result.events.some((e) => e.event === 'submitted')).toBe(true);
  expect(JSON.parse(result.events.at(-1)?.data ?? '{}')).toMatchObject({ event: 'midjourney_completed' });
  expect(checkText('queued stream', result.raw, [token])).toEqual([]);
  return result;
}

describe('chaos: the create queue across instances', () => {
  it(
    'entries of a SIGKILLed instance expire: its callers get no job, the rest start in arrival order',
    async () => {
      const { token, upstream, cluster, free } = await setUp();
      const [gw0, gw1] = cluster.gateways as [Cluster['gateways'][0], Cluster['gateways'][0]];
      const callers = [
        { url: gw0.url, name: 'dies-0' },
        { url: gw1.url, name: 'lives-0' },
        { url: gw0.url, name: 'dies-1' },
        { url: gw1.url, name: 'lives-1' },
        { url: gw1.url, name: 'lives-2' },
      ];
      const running = await joinInOrder(cluster, callers);
      const jobsBefore = upstream.simulator.stats().jobs;
      await cluster.stop(gw0, 'SIGKILL');
      await free();
      const results = await Promise.all(running);
      const lives = [1, 3, 4].map((i) => expectServed(results[i] as SseResult, token));
      const times = lives.map(createdAt);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(upstream.simulator.stats().jobs - jobsBefore).toBe(3);
      expect(await cluster.raw.zcard(ORDER)).toBe(0);
      expect(checkText('gateway logs', cluster.output(), [token])).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'Redis restarting empty while callers wait: they join again and are all served',
    async () => {
      const { token, cluster, free } = await setUp();
      const callers = [0, 1, 2, 3].map((i) => ({ url: cluster.gateways[i % 2]?.url as string, name: `wait-${i}` }));
      const running = await joinInOrder(cluster, callers);
      await cluster.redis.stop();
      await cluster.redis.start();
      await until(async () => (await cluster.raw.zcard(ORDER).catch(() => 0)) === 4, {
        what: 'the callers to join again',
        timeoutMs: 30_000,
      });
      await free();
      for (const result of await Promise.all(running)) expectServed(result, token);
      expect(await cluster.raw.zcard(ORDER)).toBe(0);
    },
    TIMEOUT,
  );
});
