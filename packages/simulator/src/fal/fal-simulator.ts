import { Hono } from 'hono';
import { createFalQueueRoutes } from './routes.ts';
import { createFalService } from './service.ts';
import { createFalStatsRecorder } from './stats.ts';
import type { FalStats } from './stats.ts';

/** Where the queue is mounted: `http://<sim>/fal/queue` stands for `https://queue.fal.run`. */
export const FAL_QUEUE_PATH = '/fal/queue';

/** fal-only settings of the simulator. */
export interface FalSimulatorOptions {
  /** Gap between keep-alive comments on a status stream, ms (default 15000, as fal documents). */
  keepAliveMs?: number;
  /** How long a result stays fetchable after completion, ms (default 1 hour); `--sim-retention MS` overrides it. */
  retentionMs?: number;
  /** Status updates a request spends `IN_QUEUE` once a slot is free (default 1); `--sim-queue N` overrides it. */
  queueTicks?: number;
}

/** What the fal part takes from the simulator's shared options. */
export interface FalSimulatorDeps extends FalSimulatorOptions {
  /** If set, the only key accepted. */
  key?: string | undefined;
  publicOrigin?: string | undefined;
  /** Requests past the queue at a time, for the whole simulator. */
  maxRunning: number;
  defaultSteps: number;
  defaultIntervalMs: number;
  now: () => number;
}

/** The fal.ai queue stand-in: `app` serves `/fal/queue/*` and `/_sim/fal/stats`. */
export interface FalSimulator {
  app: Hono;
  stats(): FalStats;
  resetStats(): void;
  /** Clears every timer and ends every open status stream. */
  close(): void;
}

/** Builds the fal.ai queue stand-in on Hono and Web APIs only. */
export function createFalSimulator(deps: FalSimulatorDeps): FalSimulator {
  const stats = createFalStatsRecorder();
  const service = createFalService({
    maxRunning: deps.maxRunning,
    defaultSteps: deps.defaultSteps,
    defaultIntervalMs: deps.defaultIntervalMs,
    defaultQueueTicks: deps.queueTicks ?? 1,
    retentionMs: deps.retentionMs ?? 3_600_000,
    keepAliveMs: deps.keepAliveMs ?? 15_000,
    queuePath: FAL_QUEUE_PATH,
    now: deps.now,
  });
  const snapshot = () => stats.snapshot(service.running(), service.queued());

  const app = new Hono();
  app.get('/_sim/fal/stats', (c) => c.json(snapshot()));
  app.route(
    FAL_QUEUE_PATH,
    createFalQueueRoutes({ service, stats, key: deps.key, publicOrigin: deps.publicOrigin, queuePath: FAL_QUEUE_PATH, now: deps.now }),
  );
  return { app, stats: snapshot, resetStats: stats.reset, close: service.close };
}
