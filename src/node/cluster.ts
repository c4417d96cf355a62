import cluster, { type Worker } from 'node:cluster';
import { randomBytes, randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { type StartedSimulator, startSimulator } from '@sse-relay/simulator/node';
import type { Bus } from '../core/bus/bus.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../core/logger.ts';
import { createMemoryBus } from '../core/bus/memory-bus.ts';
import { channelOf, serveBus } from './ipc-bus.ts';
import { EDGE_LISTENING, REUSE_PORT_ENV, loadNativeEdge, numericHost } from './native-edge.ts';
import { type NodeProcess, simulatorEnv } from './recipe.ts';
import { redisTargetOf } from './redis-connect.ts';

/** How many gateway processes `WORKERS` asks for: `auto` is one per core. */
export function workerCount(workers: Config['WORKERS']): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

/** A worker that dies sooner than this after its start is not restarted at once (no crash loop). */
const RESTART_BACKOFF_MS = 1_000;

/**
 * The cluster primary: forks `count` gateway workers sharing one port (node:cluster) and gives
 * them what must be one for all: the embedded bus (when there is no Redis) served over IPC, the
 * simulator (when there is no upstream), the subscribe-token secret and distinct instance ids.
 * Serves no HTTP itself. Resolves with a stop function once every worker listens.
 */
export async function startCluster(node: NodeProcess, count: number, logger: Logger): Promise<{ url: string; stop(): Promise<void> }> {
  const { config } = node;
  const env: Record<string, string> = {};
  let bus: Bus | undefined;
  let simulator: StartedSimulator | undefined;
  if (!redisTargetOf(config))
    bus = createMemoryBus({ historyMaxEvents: config.HISTORY_MAX_EVENTS, historyTtlMs: config.HISTORY_TTL_S * 1000 });
  const token = node.simulatorToken;
  if (token !== undefined) {
    // One simulator for every worker (SIMULATOR=true), so a job started on one can be followed by any other.
    if (token.length < 8) throw new Error('SIM_TOKEN must be at least 8 characters when WORKERS > 1');
    simulator = await startSimulator({ maxJobs: config.SIM_MAX_JOBS, token });
    // Every profile (none is configured otherwise): its own upstream variables, at the simulator's paths for it.
    const origin = simulator.url;
    Object.assign(env, simulatorEnv(origin, token));
    logger.info({ upstream: origin }, 'serving the unconfigured profiles from the built-in simulator');
  }
  // A token issued by one worker must be accepted by every other.
  if (!config.SUBSCRIBE_TOKEN_SECRET) env.SUBSCRIBE_TOKEN_SECRET = randomBytes(32).toString('base64url');
  // Plain HTTP with the native edge built: the primary holds the port (SO_REUSEPORT, not listening)
  // and each worker listens on it on its own edge; the kernel spreads connections over them.
  // Otherwise node:cluster's primary accepts and hands each connection to a worker.
  const edge = config.NATIVE_EDGE && config.TLS_CERT_FILE === undefined ? loadNativeEdge() : undefined;
  let reserved: number | undefined;
  if (edge) {
    const [fd, port] = edge.reserve(await numericHost(config.HOST), config.PORT);
    reserved = fd;
    env.PORT = String(port);
    env[REUSE_PORT_ENV] = '1';
  }

  const workers = new Set<Worker>();
  const unserve = new Map<Worker, () => Promise<void>>();
  let stopping = false;
  let slot = 0;

  function fork(index: number): Worker {
    const instance = `${(config.INSTANCE_ID ?? randomUUID()).slice(0, 56)}-w${index}`;
    const worker = cluster.fork({ ...env, INSTANCE_ID: instance });
    workers.add(worker);
    if (bus) unserve.set(worker, serveBus(bus, channelOf(worker)));
    const startedAt = Date.now();
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      void unserve.get(worker)?.();
      unserve.delete(worker);
      if (stopping) return;
      logger.error({ worker: index, code, signal }, 'gateway worker exited; starting another');
      const wait = Date.now() - startedAt < RESTART_BACKOFF_MS ? RESTART_BACKOFF_MS : 0;
      setTimeout(() => {
        if (!stopping) fork(index);
      }, wait);
    });
    return worker;
  }

  const listening = Array.from({ length: count }, () => {
    const worker = fork(slot++);
    return new Promise<{ port: number }>((resolve, reject) => {
      worker.once('listening', (address) => resolve({ port: address.port }));
      const onMessage = (message: { type?: string; port?: number }) => {
        if (message?.type !== EDGE_LISTENING || typeof message.port !== 'number') return;
        worker.off('message', onMessage);
        resolve({ port: message.port });
      };
      worker.on('message', onMessage);
      worker.once('exit', (code) => reject(new Error(`a gateway worker failed to start (exit ${code})`)));
    });
  });

  async function stop(): Promise<void> {
    stopping = true;
    const exits = [...workers].map((worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())));
    for (const worker of workers) worker.process.kill('SIGTERM');
    await Promise.all(exits);
    if (reserved !== undefined) edge?.unreserve(reserved);
    await bus?.close();
    await simulator?.close();
  }

  let address: { port: number };
  try {
    [address] = (await Promise.all(listening)) as [{ port: number }];
  } catch (err) {
    await stop();
    throw err;
  }
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  logger.info(
    { url, workers: count, bus: bus ? 'memory (in the primary, over IPC)' : 'redis', edge: edge ? 'native (SO_REUSEPORT)' : 'node:net' },
    'sse-relay cluster listening',
  );
  return { url, stop };
}
