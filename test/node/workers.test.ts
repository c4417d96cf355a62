import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { readSse } from '../support/sse.ts';
import { until } from '../support/until.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
let redis: RedisServer | undefined;

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await redis?.stop();
});

interface Cluster {
  url: string;
  simulatorUrl: string;
  child: ChildProcess;
  output: () => string;
}

/** `npm start` with WORKERS=2 on a free port; resolves once the primary says every worker listens. */
async function startCluster(env: Record<string, string>): Promise<Cluster> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/node/main.ts', '--dev'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', WORKERS: '2', SIM_MAX_JOBS: '100', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  const listening = () => {
    const lines = output.split('\n').flatMap((line) => {
      try {
        return [JSON.parse(line) as { msg?: string; url?: string; upstream?: string }];
      } catch {
        return [];
      }
    });
    const url = lines.find((l) => l.msg === 'sse-relay cluster listening')?.url;
    const simulatorUrl = lines.find((l) => l.upstream)?.upstream;
    return url && simulatorUrl ? { url, simulatorUrl } : undefined;
  };
  const started = await until(() => listening() ?? child.exitCode !== null, { timeoutMs: 60_000, intervalMs: 50 }).catch(() => false);
  if (started === true || started === false) throw new Error(`cluster did not start:\n${output}`);
  return { ...started, child, output: () => output };
}

/**
 * Pids of the cluster's workers (children of `primary`) holding established connections on the
 * port. Another process's outgoing socket may have the same local port number: it is not counted.
 */
function servingPids(port: string, primary: number | undefined): Set<string> {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  const pids = [...out.matchAll(/pid=(\d+)/g)].map((m) => m[1] as string);
  return new Set(pids.filter((pid) => parentOf(pid) === primary));
}

function parentOf(pid: string): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

async function fanOut(cluster: Cluster): Promise<void> {
  const created = await fetch(`${cluster.url}/v3/midjourney/jobs/imagine`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'two workers --sim-steps 12 --sim-interval 150', stream: false }),
  });
  expect(created.status).toBe(201);
  const { jobid, stream_url } = (await created.json()) as { jobid: string; stream_url: string };
  const subscribers = 12;
  const streams = Array.from({ length: subscribers }, () => readSse(`${cluster.url}${stream_url}`, { timeoutMs: 45_000 }));
  // While they stream, both workers hold some of them (the kernel, or node:cluster's primary, spreads them).
  const port = new URL(cluster.url).port;
  const pids = await until(
    () => servingPids(port, cluster.child.pid),
    (serving) => serving.size >= 2,
    { intervalMs: 50, what: 'both workers serving' },
  );
  expect(pids.size).toBe(2);
  const results = await Promise.all(streams);
  for (const result of results) {
    expect(result.status).toBe(200);
    const seqs = result.events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    expect(seqs.length).toBeGreaterThan(12);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(result.events.at(-1)?.data).toMatch(/"status":"completed"/);
  }
  // Every subscriber saw the same events, whichever worker served it.
  const first = results[0]?.events.map((e) => e.id);
  for (const result of results) expect(result.events.map((e) => e.id)).toEqual(first);
  // One upstream stream for the job, and nobody polled it.
  const stats = (await (await fetch(`${cluster.simulatorUrl}/_sim/stats`)).json()) as {
    streamsServed: number;
    polls: Record<string, number>;
  };
  expect(stats.streamsServed).toBe(1);
  expect(stats.polls[jobid] ?? 0).toBe(0);
}

async function stopCluster(cluster: Cluster): Promise<void> {
  cluster.child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => cluster.child.once('exit', (c) => resolve(c)));
  expect(code, cluster.output()).toBe(0);
}

describe('WORKERS=2: two gateway processes on one port', () => {
  it('embedded bus across processes: every subscriber gets every event, one upstream stream per job', async () => {
    const cluster = await startCluster({});
    // Each worker listens on its own native edge, the port shared with SO_REUSEPORT (the kernel spreads the connections).
    expect(cluster.output()).toContain('"edge":"native (SO_REUSEPORT)"');
    await fanOut(cluster);
    await stopCluster(cluster);
  }, 90_000);

  it('through node:cluster (NATIVE_EDGE=false): the same', async () => {
    const cluster = await startCluster({ NATIVE_EDGE: 'false' });
    expect(cluster.output()).toContain('"edge":"node:net"');
    await fanOut(cluster);
    await stopCluster(cluster);
  }, 90_000);

  it('on Redis: the same', async () => {
    redis = await startRedisServer();
    const cluster = await startCluster({ REDIS_URL: redis.url });
    await fanOut(cluster);
    await stopCluster(cluster);
  }, 90_000);
});
