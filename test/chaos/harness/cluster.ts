import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Redis } from 'ioredis';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import { type GatewayProcess, startGatewayProcess } from '../../support/gateway-process.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';

/** Settings every chaos gateway runs with: quick leases, polls and retries so faults heal fast. */
export const CHAOS_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  LEASE_MS: '1000',
  POLL_INTERVAL_MS: '100',
  RETRY_MS: '300',
  HEARTBEAT_MS: '1000',
  JOB_DEADLINE_MS: '30000',
  MAX_SUBSCRIBERS_PER_IP: '0',
  CREATE_RATE_PER_MIN: '0',
};

/** N gateway processes on one fresh redis-server, in front of one upstream. */
export interface Cluster {
  redis: RedisServer;
  /** A plain client for reading what Redis holds. */
  raw: Redis;
  gateways: GatewayProcess[];
  /** Gateways not stopped by the scenario. */
  alive(): GatewayProcess[];
  /** Stops a gateway with a signal (SIGKILL: no cleanup at all). */
  stop(gateway: GatewayProcess, signal: NodeJS.Signals): Promise<void>;
  /** Everything every gateway wrote to stdout and stderr. */
  output(): string;
  close(): Promise<void>;
}

export async function startCluster(options: {
  instances: number;
  upstreamUrl: string;
  token: string;
  env?: Record<string, string>;
}): Promise<Cluster> {
  const redis = await startRedisServer();
  const stopped = new Set<GatewayProcess>();
  const env = { ...CHAOS_ENV, ...options.env, REDIS_URL: redis.url, UPSTREAM_URL: options.upstreamUrl, UPSTREAM_TOKEN: options.token };
  let gateways: GatewayProcess[] = [];
  try {
    gateways = await Promise.all(Array.from({ length: options.instances }, (_, i) => startGatewayProcess(`gw${i}`, env)));
  } catch (err) {
    await redis.stop();
    throw err;
  }
  const raw = new Redis(redis.url, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
  raw.on('error', () => undefined);
  return {
    redis,
    raw,
    gateways,
    alive: () => gateways.filter((g) => !stopped.has(g)),
    async stop(gateway, signal) {
      stopped.add(gateway);
      await gateway.stop(signal);
    },
    output: () => gateways.map((g) => g.output()).join('\n'),
    async close() {
      await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
      raw.disconnect();
      redis.resume();
      await redis.stop();
    },
  };
}

/** The real simulator on its own port, as the shared upstream of a cluster; `maxJobs` running per channel before 429. */
export async function startSimulatorUpstream(
  token: string,
  maxJobs = 1000,
): Promise<{ url: string; simulator: Simulator; polls(jobId: string): number; close(): Promise<void> }> {
  const simulator = createSimulator({ token, maxJobs });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: simulator.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/midjourney`,
    simulator,
    polls: (jobId) => simulator.stats().polls[jobId] ?? 0,
    async close() {
      simulator.close();
      if ('closeAllConnections' in server) server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every event Redis holds for a job (empty when Redis lost it). */
export async function storedEvents(raw: Redis, jobId: string): Promise<{ seq: number; data: string }[]> {
  const entries = (await raw.xrange(`sse-relay:{midjourney-v3:${jobId}}:events`, '-', '+').catch(() => [])) as [string, string[]][];
  return entries.map(([id, fields]) => ({ seq: Number(id.split('-')[0]), data: fields[fields.indexOf('d') + 1] as string }));
}
