import { execFileSync } from 'node:child_process';
import { loadNativeEdge } from '../../src/node/native-edge.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IpcPeer } from './ipc.ts';
import { type Nchan, startNchan } from './nchan.ts';
import { type Managed, TICKS_PER_S, descendants, sampleProcess, startProcess, stopProcess, waitForHttp } from './procs.ts';
import { freePort } from '../support/free-port.ts';
import type { Row } from './report.ts';
import { workerDoRows } from './worker-do.ts';
import { sleep } from '../support/until.ts';

export interface BenchContext {
  root: string;
  /** How the gateway is started: `node <gatewayArgs>` (the built bundle, or the sources through tsx). */
  gatewayArgs: string[];
  publisher: IpcPeer;
  client: IpcPeer;
  publisherPort: number;
  nchan: Nchan | undefined;
  /** Events of the burst phase (back to back). */
  events: number;
  /** Events of the paced phase, one every `pacedIntervalMs`. */
  paced: number;
  pacedIntervalMs: number;
  eventBytes: number;
  quick: boolean;
  cpuProfDir: string | undefined;
  /** BENCH_STRACE=<dir>: `strace -c -f` on each server over the measured phases (slows it: for counts, not CPU). */
  straceDir: string | undefined;
  /** BENCH_SUBSCRIBERS: one N for every fan-out case (for exploring). */
  subscribersOverride: number | undefined;
}

export interface PhaseStats {
  /** The client process's CPU time so far. */
  cpuS: number;
  delivered: number;
  missing: number;
  live: number;
  failed?: number;
  lastRecv: number;
  p50: number;
  p99: number;
  max: number;
  timedOut: boolean;
}

/** A server under test, seen the same way whether it is the gateway or nchan. */
export interface Target {
  server: Row['server'];
  /** The server's processes: CPU and RSS are summed over them. */
  pids: number[];
  withChildren: boolean;
  ports: number[];
  /** Creates `count` jobs (channels) and returns their ids and subscriber paths. */
  create(count: number): Promise<{ ids: string[]; paths: string[] }>;
  emit(ids: string[], firstSeq: number, count: number, intervalMs: number): Promise<{ firstSentAt: number }>;
  finish(ids: string[], seq: number): Promise<void>;
  stop(): Promise<void>;
}

export function sample(target: Target): { cpuS: number; rssKB: number } {
  let cpuS = 0;
  let rssKB = 0;
  for (const pid of target.pids) {
    const one = sampleProcess(pid, target.withChildren);
    cpuS += one.cpuS;
    rssKB += one.rssKB;
  }
  return { cpuS, rssKB };
}

/** Waits (up to 5 s) until the server's process tree has spent at most one clock tick in 200 ms. */
async function untilIdle(target: Target): Promise<void> {
  const deadline = performance.now() + 5000;
  let before = sample(target).cpuS;
  while (performance.now() < deadline) {
    await sleep(200);
    const now = sample(target).cpuS;
    if (now - before <= 1 / TICKS_PER_S) return;
    before = now;
  }
}

/** Attaches `strace -c -f` to the server's processes; its summary lands in `dir` when stopped. */
function startStrace(dir: string, name: string, pids: number[]): Managed {
  const args = ['-c', '-f', '-o', join(dir, `${name}.txt`), ...pids.flatMap((pid) => ['-p', String(pid)])];
  return startProcess(`strace-${name}`, '/usr/bin/strace', args);
}

/**
 * Loopback source addresses the clients spread their connections over: each has its own ~28k
 * ephemeral ports toward one server port, so 72,000 connections fit.
 */
export const LOOPBACKS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

/** Seqs 0 and 1 are the job's first two events (sent on creation); phases start at 2. */
export const FIRST_SEQ = 2;
let channelSerial = 0;

export async function startGatewayTarget(ctx: BenchContext, env: Record<string, string> = {}, instances = 1): Promise<Target> {
  // WORKERS > 1: the primary forks the gateways; CPU and RSS are summed over it and them.
  const clustered = Number(env.WORKERS ?? 1) > 1;
  const procs: Managed[] = [];
  const ports: number[] = [];
  for (let i = 0; i < instances; i++) {
    const port = await freePort();
    const prof = ctx.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.cpuProfDir}`] : [];
    const proc = startProcess(`gateway-${i}`, process.execPath, [...prof, ...ctx.gatewayArgs], {
      cwd: ctx.root,
      env: {
        PORT: String(port),
        HOST: '127.0.0.1',
        UPSTREAM_URL: `http://127.0.0.1:${ctx.publisherPort}/v3/midjourney`,
        // Long and unlike any event text: the gateway cuts the token out of upstream bytes.
        UPSTREAM_TOKEN: 'Zq7-bench-upstream-secret-Xv41',
        REDIS_URL: '',
        LOG_LEVEL: 'warn',
        // No API keys (open gateway, asked for explicitly); limits lifted so they are not what is measured.
        GATEWAY_OPEN: 'true',
        CREATE_RATE_PER_MIN: '1000000',
        MAX_SUBSCRIBERS: '10000000',
        MAX_SUBSCRIBERS_PER_IP: '10000000',
        MAX_REPLAY_EVENTS: '100000',
        ...env,
      },
    });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000, proc);
    procs.push(proc);
    ports.push(port);
  }
  const base = `http://127.0.0.1:${ports[0]}/v3/midjourney`;
  return {
    server: 'sse-relay',
    pids: procs.map((proc) => proc.pid),
    withChildren: clustered,
    ports,
    async create(count) {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const response = await fetch(`${base}/jobs/imagine`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ prompt: 'bench', stream: false }),
        });
        const job = (await response.json()) as { jobid?: string };
        if (response.status !== 201 || !job.jobid) throw new Error(`job create answered ${response.status}: ${JSON.stringify(job)}`);
        ids.push(job.jobid);
      }
      return { ids, paths: ids.map((id) => `/v3/midjourney/jobs/${encodeURIComponent(id)}/stream`) };
    },
    async emit(ids, firstSeq, count, intervalMs) {
      return ctx.publisher.call({ cmd: 'emit', targets: ids, firstSeq, count, intervalMs, size: ctx.eventBytes }, 300_000);
    },
    async finish(ids, seq) {
      await ctx.publisher.call({ cmd: 'finish', targets: ids, seq });
    },
    async stop() {
      for (const proc of procs) await stopProcess(proc);
    },
  };
}

function nchanTarget(ctx: BenchContext, nchan: Nchan, subPath = 'sub', server: Row['server'] = 'nchan'): Target {
  return {
    server,
    pids: [nchan.pid],
    withChildren: true,
    ports: [nchan.port],
    async create(count) {
      const ids = Array.from({ length: count }, () => `bench-${process.pid}-${channelSerial++}`);
      return { ids, paths: ids.map((id) => `/${subPath}/${id}`) };
    },
    async emit(ids, firstSeq, count, intervalMs) {
      return ctx.publisher.call(
        { cmd: 'emit', targets: ids, nchanPub: nchan.pubUrl, firstSeq, count, intervalMs, size: ctx.eventBytes },
        300_000,
      );
    },
    async finish(ids) {
      await Promise.all(ids.map((id) => fetch(nchan.pubUrl + id, { method: 'DELETE' }).then((r) => r.arrayBuffer())));
    },
    async stop() {},
  };
}

/** The minimal node:http writer (test/bench/reference.ts), fed over HTTP like nchan. */
async function startReference(ctx: BenchContext, mode: 'http' | 'net' | 'native' = 'http'): Promise<Target> {
  const port = await freePort();
  const proc = startProcess('reference', process.execPath, ['--import', 'tsx', 'test/bench/reference.ts'], {
    cwd: ctx.root,
    env: { PORT: String(port), REFERENCE: mode },
  });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000, proc);
  const like = { port, pid: proc.pid, pubUrl: `http://127.0.0.1:${port}/pub/`, stop: () => stopProcess(proc) };
  return {
    ...nchanTarget(ctx, like, 'sub', mode === 'http' ? 'node-http' : `node-${mode}`),
    withChildren: false,
    stop: () => stopProcess(proc),
  };
}

async function streamsServed(ctx: BenchContext): Promise<number> {
  return (await ctx.publisher.call<{ streamsServed: number }>({ cmd: 'stats' })).streamsServed;
}

/** Runs one phase: every subscriber should get `count` events per job, starting at `firstSeq`. */
export async function phase(ctx: BenchContext, target: Target, ids: string[], firstSeq: number, count: number, intervalMs: number) {
  await ctx.client.call({ cmd: 'phase', firstSeq, perConnection: count });
  const { firstSentAt } = await target.emit(ids, firstSeq, count, intervalMs);
  const stats = await ctx.client.call<PhaseStats>({ cmd: 'wait', timeoutMs: ctx.quick ? 30_000 : 90_000 }, 200_000);
  const seconds = (stats.lastRecv - firstSentAt) / 1000;
  return { ...stats, deliveriesPerS: seconds > 0 ? stats.delivered / seconds : 0 };
}

/** What one fan-out run sends: `burst` events back to back, then `paced` ones every `intervalMs`. */
interface Load {
  burst: number;
  paced: number;
  intervalMs: number;
}

/** N subscribers spread over `jobs` jobs: idle memory, a burst of events, then paced events. */
async function fanout(ctx: BenchContext, name: string, target: Target, subscribers: number, jobs: number, load?: Load): Promise<Row> {
  const {
    burst: burstEvents,
    paced: pacedEvents,
    intervalMs,
  } = load ?? { burst: ctx.events, paced: ctx.paced, intervalMs: ctx.pacedIntervalMs };
  const servedBefore = await streamsServed(ctx);
  const { ids, paths } = await target.create(jobs);
  // Warm-up: the first thousands of requests grow the server's heap (young generation, pools)
  // once; measured after it, the growth is what idle subscribers themselves cost. Not for nginx
  // above 10,000 subscribers: it notices a closed idle subscriber only when it next writes to it,
  // so the warm-up's connections would still count against its 20,000 (it allocates its connection
  // structures at start anyway).
  if (subscribers <= 10_000 || target.server !== 'nchan') {
    await ctx.client.call(
      { cmd: 'open', ports: target.ports, paths, count: Math.min(subscribers, 2000), localAddresses: LOOPBACKS },
      200_000,
    );
    await ctx.client.call({ cmd: 'closeAll' });
    await sleep(500);
  }
  const baseline = sample(target);
  const openedAt = performance.now();
  const opened = await ctx.client.call<{ connected: number; failed: number }>(
    { cmd: 'open', ports: target.ports, paths, count: subscribers, localAddresses: LOOPBACKS },
    600_000,
  );
  const connectMs = performance.now() - openedAt;
  await sleep(1000);
  const idle = sample(target);
  const strace = ctx.straceDir
    ? startStrace(
        ctx.straceDir,
        `${name}-${target.server}`,
        target.withChildren ? target.pids.flatMap((pid) => [pid, ...descendants(pid)]) : target.pids,
      )
    : undefined;
  const clientBefore = await ctx.client.call<{ cpuS: number }>({ cmd: 'stats' });
  const burst = burstEvents > 0 ? await phase(ctx, target, ids, FIRST_SEQ, burstEvents, 0) : undefined;
  const paced = await phase(ctx, target, ids, FIRST_SEQ + burstEvents, pacedEvents, intervalMs);
  const after = sample(target);
  if (strace) await stopProcess(strace);
  await target.finish(ids, FIRST_SEQ + burstEvents + pacedEvents);
  const closed = await ctx.client.call<{ live: number }>({ cmd: 'waitClosed', timeoutMs: 10_000 }, 30_000);
  await ctx.client.call({ cmd: 'closeAll' });
  const served = (await streamsServed(ctx)) - servedBefore;
  return {
    case: name,
    server: target.server,
    subscribers: opened.connected,
    events: burstEvents + pacedEvents,
    deliveriesPerS: burst?.deliveriesPerS ?? paced.deliveriesPerS,
    p50Ms: paced.p50,
    p99Ms: paced.p99,
    maxMs: paced.max,
    burstP99Ms: burst?.p99 ?? NaN,
    cpuS: after.cpuS - idle.cpuS,
    cpuUsPerDelivery: ((after.cpuS - idle.cpuS) * 1e6) / Math.max(1, (burst?.delivered ?? 0) + paced.delivered),
    rssMB: after.rssKB / 1024,
    rssPerIdleKB: (idle.rssKB - baseline.rssKB) / Math.max(1, opened.connected),
    lost: (burst?.missing ?? 0) + paced.missing + (subscribers - opened.connected),
    upstreamConns: target.server === 'sse-relay' ? served / jobs : null,
    failedConnects: opened.failed,
    clientCpuS: paced.cpuS - clientBefore.cpuS,
    connectMs,
    ...(closed.live > 0 && target.server === 'sse-relay' ? { note: `${closed.live} streams not ended after the terminal event` } : {}),
  };
}

/** Late joiners, one at a time, to a job with a 1,000-event history: time to the last replayed event. */
async function replay(ctx: BenchContext, target: Target): Promise<Row> {
  const history = 1000;
  const { ids, paths } = await target.create(1);
  await ctx.client.call({ cmd: 'open', ports: target.ports, paths, count: 1 });
  await phase(ctx, target, ids, FIRST_SEQ, history, 0);
  await ctx.client.call({ cmd: 'closeAll' });
  // nchan sends a new subscriber only new messages unless asked for the oldest buffered one.
  const joinPath = target.server === 'nchan' ? paths[0]!.replace('/sub/', '/sub-oldest/') : paths[0];
  // The gateway replays seqs 0 and 1 (sent on creation) too; nchan only has what was published.
  const frames = target.server === 'sse-relay' ? history + FIRST_SEQ : history;
  const cpu0 = sample(target);
  const joins = await ctx.client.call<{ joins: number; short: number; p50: number; p99: number; max: number }>(
    { cmd: 'joins', port: target.ports[0], path: joinPath, frames, times: ctx.quick ? 20 : 50 },
    120_000,
  );
  const cpu1 = sample(target);
  await target.finish(ids, FIRST_SEQ + history);
  return {
    case: 'replay-1000',
    server: target.server,
    subscribers: joins.joins,
    events: history,
    deliveriesPerS: NaN,
    p50Ms: joins.p50,
    p99Ms: joins.p99,
    maxMs: joins.max,
    burstP99Ms: NaN,
    cpuS: cpu1.cpuS - cpu0.cpuS,
    cpuUsPerDelivery: ((cpu1.cpuS - cpu0.cpuS) * 1e6) / Math.max(1, joins.joins * frames),
    rssMB: cpu1.rssKB / 1024,
    rssPerIdleKB: NaN,
    lost: joins.short,
    upstreamConns: null,
    failedConnects: 0,
    note: 'p50/p99/max: connect → last replayed event',
  };
}

async function withTarget(target: Target, run: (target: Target) => Promise<Row>): Promise<Row> {
  try {
    return await run(target);
  } finally {
    await target.stop();
  }
}

function fanoutCase(subscribers: number, quickSubscribers: number) {
  return async (ctx: BenchContext): Promise<Row[]> => {
    const n = ctx.subscribersOverride ?? (ctx.quick ? quickSubscribers : subscribers);
    const name = `fanout-${n >= 1000 ? `${n / 1000}k` : n}`;
    const rows = [await withTarget(await startGatewayTarget(ctx), (t) => fanout(ctx, name, t, n, 1))];
    if (ctx.nchan) rows.push(await fanout(ctx, name, nchanTarget(ctx, ctx.nchan), n, 1));
    return rows;
  };
}

const skipped = (name: string, server: Row['server'], note: string): Row => ({
  case: name,
  server,
  subscribers: 0,
  events: 0,
  deliveriesPerS: NaN,
  p50Ms: NaN,
  p99Ms: NaN,
  maxMs: NaN,
  burstP99Ms: NaN,
  cpuS: NaN,
  cpuUsPerDelivery: NaN,
  rssMB: NaN,
  rssPerIdleKB: NaN,
  lost: 0,
  upstreamConns: null,
  failedConnects: 0,
  note,
});

async function redisCase(ctx: BenchContext): Promise<Row[]> {
  if (!existsSync(join(ctx.root, 'src/node/redis-bus.ts')))
    return [skipped('redis-2x', 'sse-relay', 'skipped: no Redis bus in this checkout')];
  if (!existsSync('/usr/bin/redis-server')) return [skipped('redis-2x', 'sse-relay', 'skipped: redis-server not installed')];
  return withBenchRedis(async (redisPort) => {
    const n = ctx.quick ? 1000 : 5000;
    const target = await startGatewayTarget(ctx, { REDIS_URL: `redis://127.0.0.1:${redisPort}` }, 2);
    const row = await withTarget(target, (t) => fanout(ctx, 'redis-2x', t, n, 1));
    row.note = 'two gateways on one Redis, subscribers split evenly; CPU and RSS of both';
    return [row];
  });
}

/** A throwaway redis-server on a free port, answering PING, for the length of `run`. */
async function withBenchRedis<T>(run: (port: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const redis = startProcess('redis', '/usr/bin/redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  try {
    await waitForRedis(port);
    return await run(port);
  } finally {
    await stopProcess(redis);
  }
}

async function replayCase(ctx: BenchContext): Promise<Row[]> {
  const rows = [await withTarget(await startGatewayTarget(ctx), (t) => replay(ctx, t))];
  if (ctx.nchan) rows.push(await replay(ctx, nchanTarget(ctx, ctx.nchan)));
  return rows;
}

async function mixedCase(ctx: BenchContext): Promise<Row[]> {
  const jobs = ctx.quick ? 20 : 100;
  const name = `mixed-${jobs}x50`;
  const rows = [await withTarget(await startGatewayTarget(ctx), (t) => fanout(ctx, name, t, jobs * 50, jobs))];
  if (ctx.nchan) rows.push(await fanout(ctx, name, nchanTarget(ctx, ctx.nchan), jobs * 50, jobs));
  return rows;
}

/** Lone events: each event alone in its turn, so one write per subscriber per event (2,000 × 150 at 50/s). */
async function loneCase(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.subscribersOverride ?? (ctx.quick ? 1000 : 2000);
  const load: Load = { burst: 0, paced: ctx.quick ? 50 : 150, intervalMs: 20 };
  const name = `lone-${n >= 1000 ? `${n / 1000}k` : n}`;
  const rows = [await withTarget(await startGatewayTarget(ctx), (t) => fanout(ctx, name, t, n, 1, load))];
  if (ctx.nchan) rows.push(await fanout(ctx, name, nchanTarget(ctx, ctx.nchan), n, 1, load));
  rows.push(await withTarget(await startReference(ctx), (t) => fanout(ctx, name, t, n, 1, load)));
  return rows;
}

/** Saturation: 5,000 subscribers × 50 events/s on one job, on one gateway process and on two (WORKERS=2), against nchan with as many workers. */
async function workersCase(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.subscribersOverride ?? (ctx.quick ? 2000 : 5000);
  const load: Load = { burst: 0, paced: ctx.quick ? 50 : 100, intervalMs: 20 };
  const rows: Row[] = [];
  for (const workers of [1, 2]) {
    const name = `sat-${n / 1000}k-x${workers}`;
    const target = await startGatewayTarget(ctx, { WORKERS: String(workers) });
    rows.push(await withTarget(target, (t) => fanout(ctx, name, t, n, 1, load)));
    if (ctx.nchan) {
      const nchan = await startNchan(workers);
      try {
        rows.push(await fanout(ctx, name, nchanTarget(ctx, nchan), n, 1, load));
      } finally {
        await nchan.stop();
      }
    }
  }
  return rows;
}

/** The gateway as `npm start` runs it: access log at info. */
const AS_STARTED = { LOG_LEVEL: 'info' };

/**
 * What a new subscriber costs: a fresh server, `n` subscribers of one job connected until each has
 * one warm-up event (CPU per new subscriber), then 150 lone events at 50/s (whole-run CPU per delivery).
 */
async function connectCost(ctx: BenchContext, name: string, target: Target, n: number): Promise<Row> {
  const lone = ctx.quick ? 50 : 150;
  const { ids, paths } = await target.create(1);
  // What creating the job set going (the gateway reads its upstream stream's first events) is the
  // job's cost, not its subscribers': the window opens once the server is idle again.
  await untilIdle(target);
  // BENCH_STRACE: the syscalls of the connect phase (it slows the server: its CPU figures are not comparable then).
  const strace = ctx.straceDir ? startStrace(ctx.straceDir, `${name}-${target.server}-connect`, target.pids) : undefined;
  const start = sample(target);
  const t0 = performance.now();
  const opened = await ctx.client.call<{ connected: number; failed: number }>(
    { cmd: 'open', ports: target.ports, paths, count: n, localAddresses: LOOPBACKS },
    600_000,
  );
  const warm = await phase(ctx, target, ids, FIRST_SEQ, 1, 0);
  const allReadyMs = performance.now() - t0;
  const connected = sample(target);
  if (strace) await stopProcess(strace);
  const run = await phase(ctx, target, ids, FIRST_SEQ + 1, lone, 20);
  const end = sample(target);
  await target.finish(ids, FIRST_SEQ + 1 + lone);
  await ctx.client.call({ cmd: 'waitClosed', timeoutMs: 10_000 }, 30_000);
  await ctx.client.call({ cmd: 'closeAll' });
  return {
    case: name,
    server: target.server,
    subscribers: opened.connected,
    events: lone,
    deliveriesPerS: run.deliveriesPerS,
    p50Ms: run.p50,
    p99Ms: run.p99,
    maxMs: run.max,
    burstP99Ms: NaN,
    cpuS: end.cpuS - start.cpuS,
    cpuUsPerDelivery: ((end.cpuS - connected.cpuS) * 1e6) / Math.max(1, run.delivered),
    rssMB: end.rssKB / 1024,
    rssPerIdleKB: NaN,
    lost: warm.missing + run.missing + (n - opened.connected),
    upstreamConns: null,
    failedConnects: opened.failed,
    connectUsPerSub: ((connected.cpuS - start.cpuS) * 1e6) / Math.max(1, opened.connected),
    wholeRunUsPerDelivery: ((end.cpuS - start.cpuS) * 1e6) / Math.max(1, run.delivered),
    allReadyMs,
  };
}

/** Connect cost at 500, 2,000 and 4,000 subscribers: a fresh gateway (as `npm start` runs it) and a fresh nchan per row. */
async function connectCase(ctx: BenchContext): Promise<Row[]> {
  const sizes = ctx.subscribersOverride ? [ctx.subscribersOverride] : ctx.quick ? [500, 1000] : [500, 2000, 4000];
  const rows: Row[] = [];
  for (const n of sizes) {
    const name = `connect-${n >= 1000 ? `${n / 1000}k` : n}`;
    rows.push(await withTarget(await startGatewayTarget(ctx, AS_STARTED), (t) => connectCost(ctx, name, t, n)));
    // The same gateway without its native edge (NATIVE_EDGE=false: connections through node:net).
    const onNet = await startGatewayTarget(ctx, { ...AS_STARTED, NATIVE_EDGE: 'false' });
    rows.push(await withTarget({ ...onNet, server: 'sse-relay (node:net)' }, (t) => connectCost(ctx, name, t, n)));
    if (ctx.nchan) {
      const nchan = await startNchan(1);
      try {
        rows.push(await connectCost(ctx, name, nchanTarget(ctx, nchan), n));
      } finally {
        await nchan.stop();
      }
    }
    // What Node costs per connection with nothing else (no framework, no access check, no replay, no
    // log): through node:http, on the raw socket (no HTTP parser: the floor of node:net), and on the
    // native edge (native/edge.c, as the gateway uses it).
    rows.push(await withTarget(await startReference(ctx), (t) => connectCost(ctx, name, t, n)));
    rows.push(await withTarget(await startReference(ctx, 'net'), (t) => connectCost(ctx, name, t, n)));
    if (loadNativeEdge()) rows.push(await withTarget(await startReference(ctx, 'native'), (t) => connectCost(ctx, name, t, n)));
  }
  // The same again on servers that have already served as many: the marginal cost, without the
  // first requests' one-off work (module loading, compilation of the request path).
  const n = sizes[sizes.length - 1] as number;
  const name = `connect-${n >= 1000 ? `${n / 1000}k` : n}-warm`;
  const again = async (t: Target) => {
    await connectCost(ctx, name, t, n);
    // The first batch's closes and their garbage are the server's to finish before the second is measured.
    await sleep(2000);
    return connectCost(ctx, name, t, n);
  };
  rows.push(await withTarget(await startGatewayTarget(ctx, AS_STARTED), again));
  if (ctx.nchan) {
    const nchan = await startNchan(1);
    try {
      rows.push(await again(nchanTarget(ctx, nchan)));
    } finally {
      await nchan.stop();
    }
  }
  return rows;
}

/** Dense: 18,000 subscribers of one job on one process (the per-process open-file limit is 20,000), lone events. */
async function denseCase(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.subscribersOverride ?? (ctx.quick ? 6000 : 18_000);
  const load: Load = { burst: 0, paced: ctx.quick ? 20 : 50, intervalMs: 100 };
  const name = `dense-${n / 1000}k`;
  const rows = [await withTarget(await startGatewayTarget(ctx, AS_STARTED), (t) => fanout(ctx, name, t, n, 1, load))];
  if (ctx.nchan) rows.push(await fanout(ctx, name, nchanTarget(ctx, ctx.nchan), n, 1, load));
  return rows;
}

/** 72,000 subscribers over four processes: WORKERS=4 against nchan with four workers (needs BENCH_CLIENTS ≥ 4). */
async function workers4Case(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.subscribersOverride ?? (ctx.quick ? 12_000 : 72_000);
  const load: Load = { burst: 0, paced: ctx.quick ? 20 : 50, intervalMs: 100 };
  const name = `dense-${n / 1000}k-x4`;
  const rows = [await withTarget(await startGatewayTarget(ctx, { ...AS_STARTED, WORKERS: '4' }), (t) => fanout(ctx, name, t, n, 1, load))];
  if (ctx.nchan) {
    const nchan = await startNchan(4);
    try {
      rows.push(await fanout(ctx, name, nchanTarget(ctx, nchan), n, 1, load));
    } finally {
      await nchan.stop();
    }
  }
  return rows;
}

/**
 * Reconnect storm: `n` subscribers of one job drop at once (as when their instance dies), `missed`
 * events are published meanwhile, then all reconnect at once with `Last-Event-ID`. Measured: the
 * time until the last one has every missed event, server CPU per reconnect, duplicates and gaps.
 */
async function storm(ctx: BenchContext, name: string, target: Target, n: number, redis?: RedisCounter): Promise<Row> {
  const missed = 20;
  const { ids, paths } = await target.create(1);
  // With two instances: everyone on the first, then everyone back on the second (the first "died").
  const [first, other] = target.ports;
  const opened = await ctx.client.call<{ connected: number; failed: number }>(
    { cmd: 'open', ports: [first], paths, count: n, localAddresses: LOOPBACKS },
    600_000,
  );
  await phase(ctx, target, ids, FIRST_SEQ, 5, 0);
  // One subscriber stays to see the missed events arrive (the server has them), then drops too.
  await ctx.client.call({ cmd: 'drop', keep: 1 });
  await phase(ctx, target, ids, FIRST_SEQ + 5, missed, 0);
  await ctx.client.call({ cmd: 'drop', keep: 0 });
  await ctx.client.call({ cmd: 'phase', firstSeq: FIRST_SEQ + 5, perConnection: missed });
  const before = sample(target);
  const readsBefore = redis ? await redis.historyReads() : 0;
  const t0 = performance.now();
  const back = await ctx.client.call<{ connected: number; failed: number }>({ cmd: 'reconnect', concurrency: 1024, port: other }, 600_000);
  const stats = await ctx.client.call<PhaseStats & { dups: number }>({ cmd: 'wait', timeoutMs: 120_000 }, 200_000);
  const allReadyMs = stats.lastRecv > 0 ? stats.lastRecv - (performance.timeOrigin + t0) : NaN;
  const after = sample(target);
  const historyReads = redis ? (await redis.historyReads()) - readsBefore : undefined;
  await target.finish(ids, FIRST_SEQ + 5 + missed);
  await ctx.client.call({ cmd: 'waitClosed', timeoutMs: 10_000 }, 30_000);
  await ctx.client.call({ cmd: 'closeAll' });
  return {
    case: name,
    server: target.server,
    subscribers: back.connected,
    events: missed,
    deliveriesPerS: NaN,
    p50Ms: NaN,
    p99Ms: NaN,
    maxMs: NaN,
    burstP99Ms: NaN,
    cpuS: after.cpuS - before.cpuS,
    cpuUsPerDelivery: ((after.cpuS - before.cpuS) * 1e6) / Math.max(1, stats.delivered),
    rssMB: after.rssKB / 1024,
    rssPerIdleKB: NaN,
    lost: stats.missing + (opened.connected - back.connected),
    upstreamConns: null,
    failedConnects: opened.failed + back.failed,
    allReadyMs,
    reconnectUsPerSub: ((after.cpuS - before.cpuS) * 1e6) / Math.max(1, back.connected),
    dups: stats.dups,
    gaps: stats.missing,
    note:
      `${missed} events missed while down; all reconnect at once (1,024 in flight per client process)` +
      (historyReads === undefined
        ? ''
        : `; onto a second instance: ${historyReads} Redis history reads (XRANGE) for ${back.connected} resumes`),
  };
}

/** Counts a Redis server's XRANGE calls (the history reads of the Redis bus). */
interface RedisCounter {
  historyReads(): Promise<number>;
}

function redisCounter(port: number): RedisCounter {
  return {
    async historyReads() {
      const out = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'commandstats'], { encoding: 'utf8' });
      return Number(/cmdstat_xrange:calls=(\d+)/.exec(out)?.[1] ?? 0);
    },
  };
}

/** The storm on Redis: subscribers of an instance that "died" all resume on another, which reads the history once. */
async function stormRedisCase(ctx: BenchContext): Promise<Row[]> {
  if (!existsSync('/usr/bin/redis-server')) return [skipped('storm-redis', 'sse-relay', 'skipped: redis-server not installed')];
  const n = ctx.subscribersOverride ?? (ctx.quick ? 3000 : 18_000);
  return withBenchRedis(async (redisPort) => {
    const target = await startGatewayTarget(ctx, { ...AS_STARTED, REDIS_URL: `redis://127.0.0.1:${redisPort}` }, 2);
    return [await withTarget(target, (t) => storm(ctx, `storm-redis-${n / 1000}k`, t, n, redisCounter(redisPort)))];
  });
}

async function waitForRedis(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if (execFileSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8' }).trim() === 'PONG') return;
    } catch {}
    await sleep(50);
  }
  throw new Error(`redis-server on ${port} did not answer`);
}

async function stormCase(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.subscribersOverride ?? (ctx.quick ? 3000 : 18_000);
  const name = `storm-${n / 1000}k`;
  const rows = [await withTarget(await startGatewayTarget(ctx, AS_STARTED), (t) => storm(ctx, name, t, n))];
  if (ctx.nchan) rows.push(await storm(ctx, name, nchanTarget(ctx, ctx.nchan), n));
  return rows;
}

export const CASES: Record<string, (ctx: BenchContext) => Promise<Row[]>> = {
  connect: connectCase,
  dense: denseCase,
  storm: stormCase,
  'storm-redis': stormRedisCase,
  'dense-x4': workers4Case,
  lone: loneCase,
  workers: workersCase,
  worker: (ctx) => workerDoRows(ctx.quick),
  'fanout-1k': fanoutCase(1000, 500),
  'fanout-5k': fanoutCase(5000, 2000),
  'fanout-10k': fanoutCase(10_000, 3000),
  redis: redisCase,
  replay: replayCase,
  mixed: mixedCase,
  // Loaded when run: it builds on this file's helpers.
  capacity: async (ctx) => (await import('./capacity.ts')).capacityCase(ctx),
};
