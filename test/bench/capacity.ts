// `BENCH_CASES=capacity npm run bench`: the per-unit costs docs/operations/capacity.md sizes a
// deployment from. Two gateways on a throwaway redis-server of their own: memory per followed job
// (gateway and Redis), CPU and memory per new subscriber, then lone events (each appended and
// published alone, the costly case) to subscribers spread over both gateways (random load
// balancing) and then to subscribers on one gateway only (affinity by job id), with Redis's own
// counters (INFO commandstats, stats, memory) read around each phase: commands, Redis CPU and
// bytes per event.
import { Redis } from 'ioredis';
import { sleep, until } from '../support/until.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { type BenchContext, FIRST_SEQ, type Target, phase, sample, startGatewayTarget } from './cases.ts';
import { type ProcSample, sampleProcess } from './procs.ts';
import type { Row } from './report.ts';

/** What Redis reports, as numbers: `INFO` fields, and `cmdstat_<name>` calls and µs. */
interface RedisInfo {
  fields: Map<string, number>;
  commands: Map<string, { calls: number; usec: number }>;
}

async function redisInfo(redis: Redis): Promise<RedisInfo> {
  const text = await redis.info('everything');
  const fields = new Map<string, number>();
  const commands = new Map<string, { calls: number; usec: number }>();
  for (const line of text.split('\r\n')) {
    const command = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (command) commands.set(command[1] as string, { calls: Number(command[2]), usec: Number(command[3]) });
    const field = /^(\w+):(-?[\d.]+)$/.exec(line);
    if (field) fields.set(field[1] as string, Number(field[2]));
  }
  return { fields, commands };
}

/** Per event between two INFO samples: each command's calls and Redis µs, bytes in and out, Redis CPU and memory. */
function redisPerEvent(before: RedisInfo, after: RedisInfo, events: number) {
  const per = (value: number) => Number((value / events).toFixed(3));
  const field = (name: string) => (after.fields.get(name) ?? 0) - (before.fields.get(name) ?? 0);
  const commands: Record<string, { calls: number; usec: number }> = {};
  for (const [name, now] of after.commands) {
    const then = before.commands.get(name) ?? { calls: 0, usec: 0 };
    if (now.calls > then.calls) commands[name] = { calls: per(now.calls - then.calls), usec: per(now.usec - then.usec) };
  }
  return {
    commands,
    bytesIn: per(field('total_net_input_bytes')),
    bytesOut: per(field('total_net_output_bytes')),
    cpuUs: per((field('used_cpu_sys') + field('used_cpu_user')) * 1e6),
    memoryBytes: per(field('used_memory')),
  };
}

/** A memory or CPU figure per unit, rounded for the report. */
const each = (total: number, count: number, digits = 2) => Number((total / Math.max(1, count)).toFixed(digits));

export async function capacityCase(ctx: BenchContext): Promise<Row[]> {
  const jobs = Number(process.env.BENCH_CAPACITY_JOBS ?? (ctx.quick ? 50 : 200));
  const perJob = Math.max(1, Math.round((ctx.subscribersOverride ?? jobs * 10) / jobs));
  const events = ctx.quick ? 10 : 40;
  const intervalMs = 100;
  const server = await startRedisServer();
  const redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const target = await startGatewayTarget(ctx, { REDIS_URL: server.url }, 2);
  const figures: Record<string, unknown> = { jobs, subscribersPerJob: perJob, eventsPerJob: events, eventBytes: ctx.eventBytes };
  const rows: Row[] = [];
  try {
    // Warm-up (heap growth of the first thousands of requests), as the fan-out cases do.
    const warm = await target.create(20);
    await ctx.client.call({ cmd: 'open', ports: target.ports, paths: warm.paths, count: 2000 }, 200_000);
    await ctx.client.call({ cmd: 'closeAll' });
    await target.finish(warm.ids, FIRST_SEQ);
    await sleep(1000);

    const start = sample(target);
    const redisStart = await redisInfo(redis);
    const { ids, paths } = await target.create(jobs);
    await sleep(1000);
    const followed = sample(target);
    const redisFollowed = await redisInfo(redis);
    figures.perFollowedJob = {
      gatewayKB: each(followed.rssKB - start.rssKB, jobs),
      gatewayCpuUs: each((followed.cpuS - start.cpuS) * 1e6, jobs, 0),
      redisBytes: each((redisFollowed.fields.get('used_memory') ?? 0) - (redisStart.fields.get('used_memory') ?? 0), jobs, 0),
    };

    // Random load balancing: every job has subscribers on both gateways.
    const spread = await subscribersAndEvents(ctx, target, ids, paths, target.ports, jobs * perJob, events, intervalMs, redis);
    figures.spread = spread.figures;
    rows.push({
      ...spread.row,
      case: 'capacity-spread',
      note: 'lone events; every job has subscribers on both gateways (random balancing)',
    });
    await target.finish(ids, FIRST_SEQ + events);
    // Affinity by job id: new jobs (followed by gateway 0), every subscriber on gateway 1, so gateway 0
    // only ingests (reads, appends, publishes) and gateway 1 only receives and delivers.
    const other = await target.create(jobs);
    // A create that waits for the job's first snapshot holds its hub (and so its channel) on the
    // creating gateway; let that linger (30 s, src/core/relay.ts) run out first.
    await sleep(32_000);
    const affinity = await subscribersAndEvents(
      ctx,
      target,
      other.ids,
      other.paths,
      [target.ports[1] as number],
      jobs * perJob,
      events,
      intervalMs,
      redis,
    );
    figures.affinity = affinity.figures;
    rows.push({ ...affinity.row, case: 'capacity-affinity', note: 'lone events; all subscribers of a job on one gateway (affinity)' });
    await target.finish(other.ids, FIRST_SEQ + events);
    figures.redisPubsub = {
      oneSubscriber: await pubsubCost(redis, server.url, 1),
      twentySubscribers: await pubsubCost(redis, server.url, 20),
    };
    figures.redisVersion = (await redis.info('server')).match(/redis_version:([\d.]+)/)?.[1];
  } finally {
    redis.disconnect();
    await target.stop();
    await server.stop();
  }
  console.log(JSON.stringify({ capacity: figures }));
  return rows;
}

/** Opens `count` subscribers over `ports`, then `events` lone events per job: the figures per subscriber and per event. */
async function subscribersAndEvents(
  ctx: BenchContext,
  target: Target,
  ids: string[],
  paths: string[],
  ports: number[],
  count: number,
  events: number,
  intervalMs: number,
  redis: Redis,
): Promise<{ figures: Record<string, unknown>; row: Row }> {
  const perProcess = () => target.pids.map((pid) => sampleProcess(pid));
  const before = sample(target);
  const opened = await ctx.client.call<{ connected: number; failed: number }>({ cmd: 'open', ports, paths, count }, 200_000);
  await sleep(1000);
  const idle = sample(target);
  const idleEach = perProcess();
  const redisBefore = await redisInfo(redis);
  const channels = ((await redis.pubsub('CHANNELS')) as string[]).filter((name) => ids.some((id) => name.includes(id)));
  const numsub = (await redis.pubsub('NUMSUB', ...channels)) as (string | number)[];
  const instancesPerChannel = each(
    numsub.filter((_, i) => i % 2 === 1).reduce((n: number, v) => n + Number(v), 0),
    channels.length,
  );
  const lone = await phase(ctx, target, ids, FIRST_SEQ, events, intervalMs);
  const after = sample(target);
  const afterEach = perProcess();
  const redisAfter = await redisInfo(redis);
  await ctx.client.call({ cmd: 'closeAll' });
  await sleep(500);
  const stored = ids.length * events;
  const figures = {
    subscribers: opened.connected,
    failed: opened.failed,
    perSubscriber: {
      connectCpuUs: each((idle.cpuS - before.cpuS) * 1e6, opened.connected, 1),
      idleKB: each(idle.rssKB - before.rssKB, opened.connected),
    },
    events: stored,
    instancesPerChannel,
    deliveries: lone.delivered,
    missing: lone.missing,
    gatewayCpuUsPerDelivery: each((after.cpuS - idle.cpuS) * 1e6, lone.delivered),
    gatewayCpuUsPerEvent: each((after.cpuS - idle.cpuS) * 1e6, stored, 0),
    gatewayKBPerEvent: each(after.rssKB - idle.rssKB, stored),
    byGateway: afterEach.map((end: ProcSample, i) => {
      const begin = idleEach[i] as ProcSample;
      return { cpuUsPerEvent: each((end.cpuS - begin.cpuS) * 1e6, stored, 1), kbPerEvent: each(end.rssKB - begin.rssKB, stored) };
    }),
    redisPerEvent: redisPerEvent(redisBefore, redisAfter, stored),
  };
  const row: Row = {
    case: 'capacity',
    server: 'sse-relay',
    subscribers: opened.connected,
    events,
    deliveriesPerS: lone.deliveriesPerS,
    p50Ms: lone.p50,
    p99Ms: lone.p99,
    maxMs: lone.max,
    burstP99Ms: Number.NaN,
    cpuS: after.cpuS - idle.cpuS,
    cpuUsPerDelivery: figures.gatewayCpuUsPerDelivery,
    rssMB: after.rssKB / 1024,
    rssPerIdleKB: figures.perSubscriber.idleKB,
    lost: lone.missing + (count - opened.connected),
    upstreamConns: null,
    failedConnects: opened.failed,
  };
  return { figures, row };
}

/**
 * Redis's own cost of pub/sub fan-out, apart from the gateway: `subscribers` connections on one
 * channel, 20,000 messages of a gateway's size (690 B) published in pipelines of 100; Redis CPU per
 * message. Two runs (1 and 20 subscribers) give the cost per further subscribed pod.
 */
async function pubsubCost(
  redis: Redis,
  url: string,
  subscribers: number,
): Promise<{ cpuUsPerMessage: number; bytesOutPerMessage: number }> {
  const messages = 20_000;
  const payload = 'x'.repeat(690);
  const channel = `bench-pubsub-${subscribers}`;
  const listeners = await Promise.all(
    Array.from({ length: subscribers }, async () => {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      let got = 0;
      client.on('message', () => got++);
      await client.subscribe(channel);
      return { client, got: () => got };
    }),
  );
  const before = await redisInfo(redis);
  for (let sent = 0; sent < messages; sent += 100) {
    const batch = redis.pipeline();
    for (let i = 0; i < 100; i++) batch.publish(channel, payload);
    await batch.exec();
  }
  await until(() => listeners.every((l) => l.got() >= messages), { timeoutMs: 60_000 });
  const after = await redisInfo(redis);
  for (const l of listeners) l.client.disconnect();
  const per = redisPerEvent(before, after, messages);
  return { cpuUsPerMessage: per.cpuUs, bytesOutPerMessage: per.bytesOut };
}
