import { Hono } from 'hono';
import { createReplicateRoutes } from './routes.ts';
import { createReplicateService } from './service.ts';
import { createReplicateStats } from './stats.ts';
import type { ReplicateStats } from './stats.ts';

export type { ReplicateStats } from './stats.ts';

/** Where a client's `baseUrl` points, as it would point at `https://api.replicate.com/v1`. */
export const REPLICATE_BASE_PATH = '/replicate/v1';
/** Where prediction streams are, as Replicate's are on a streaming host of their own. */
export const REPLICATE_STREAM_PATH = '/replicate/streaming/v1';

/** What the Replicate part takes from the simulator's shared options. */
export interface ReplicateSimulatorDeps {
  /** If set, the only API token accepted. */
  token?: string | undefined;
  publicOrigin?: string | undefined;
  defaultSteps: number;
  defaultIntervalMs: number;
  /** How long an ended prediction keeps its data, ms (default one hour); `--sim-retention MS` overrides it. */
  retentionMs?: number;
  now: () => number;
}

/** The predictions API stand-in: `app` serves `/replicate/v1/*`, its streams and `/_sim/replicate/stats`. */
export interface ReplicateSimulator {
  app: Hono;
  stats(): ReplicateStats;
  resetStats(): void;
  /** Clears every timer and ends every open stream. */
  close(): void;
}

/** Builds Replicate's predictions API stand-in on Hono and Web APIs only. */
export function createReplicateSimulator(deps: ReplicateSimulatorDeps): ReplicateSimulator {
  const stats = createReplicateStats();
  const service = createReplicateService({
    basePath: REPLICATE_BASE_PATH,
    streamPath: REPLICATE_STREAM_PATH,
    defaultSteps: deps.defaultSteps,
    defaultIntervalMs: deps.defaultIntervalMs,
    retentionMs: deps.retentionMs ?? 3_600_000,
    now: deps.now,
  });
  const snapshot = () => stats.snapshot(service.running());
  const app = new Hono();
  app.get('/_sim/replicate/stats', (c) => c.json(snapshot()));
  app.route(
    '/',
    createReplicateRoutes({
      service,
      stats,
      token: deps.token,
      publicOrigin: deps.publicOrigin,
      basePath: REPLICATE_BASE_PATH,
      streamPath: REPLICATE_STREAM_PATH,
      now: deps.now,
    }),
  );
  return { app, stats: snapshot, resetStats: stats.reset, close: service.close };
}
