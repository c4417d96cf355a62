import { Hono } from 'hono';
import { createFalSimulator } from './fal/fal-simulator.ts';
import type { FalSimulatorOptions } from './fal/fal-simulator.ts';
import type { FalStats } from './fal/stats.ts';
import { errorResponse } from './http.ts';
import { createJobService } from './job-service.ts';
import { createOpenAISimulator } from './openai/index.ts';
import type { OpenAIStats } from './openai/index.ts';
import { createReplicateSimulator } from './replicate/index.ts';
import type { ReplicateStats } from './replicate/index.ts';
import { createSimRoutes } from './sim-routes.ts';
import { createStatsRecorder } from './stats.ts';
import type { SimStats } from './stats.ts';
import { createVendorRoutes } from './vendor-routes.ts';

/** How the simulator behaves when a request's prompt does not say otherwise. */
export interface SimulatorOptions {
  /** If set, only this bearer token is accepted; otherwise any non-empty token is. */
  token?: string;
  /** Running jobs allowed per channel before 429 (default 3). */
  maxJobs?: number;
  /** Where the vendor API is mounted (default `/v3/midjourney`). */
  basePath?: string;
  /** Gap between job events in ms (default 500). */
  defaultIntervalMs?: number;
  /** Progress events per image job (default 4). */
  defaultSteps?: number;
  /** Origin put into image URLs (default: the request's own), for a simulator behind another name. */
  publicOrigin?: string;
  /** fal.ai queue settings (keep-alive, retention, queue ticks); `token`, `maxJobs` (per simulator), steps and interval apply too. */
  fal?: FalSimulatorOptions;
  /** How long an ended Replicate prediction keeps its data, ms (default one hour, as Replicate); `--sim-retention MS` overrides it. */
  replicateRetentionMs?: number;
}

/** A running simulator: mount `app`/`fetch` on any runtime. */
export interface Simulator {
  app: Hono;
  fetch: (request: Request) => Promise<Response>;
  stats(): SimStats;
  /** What `GET /_sim/fal/stats` returns. */
  falStats(): FalStats;
  /** What `GET /_sim/openai/stats` returns. */
  openaiStats(): OpenAIStats;
  /** What `GET /_sim/replicate/stats` returns. */
  replicateStats(): ReplicateStats;
  /** Clears every timer and ends every open stream. */
  close(): void;
}

/** Builds stand-ins for the useapi.net Midjourney v3 job API, fal.ai's queue, OpenAI's Responses API and Replicate's predictions API on Hono and Web APIs only. */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const basePath = (options.basePath ?? '/v3/midjourney').replace(/\/+$/, '');
  const now = () => Date.now();
  const stats = createStatsRecorder();
  const service = createJobService({
    maxJobs: options.maxJobs ?? 3,
    defaultSteps: options.defaultSteps ?? 4,
    defaultIntervalMs: options.defaultIntervalMs ?? 500,
    basePath,
    stats,
    now,
  });
  const fal = createFalSimulator({
    ...options.fal,
    key: options.token,
    publicOrigin: options.publicOrigin,
    maxRunning: options.maxJobs ?? 3,
    defaultSteps: options.defaultSteps ?? 4,
    defaultIntervalMs: options.defaultIntervalMs ?? 500,
    now,
  });
  const openai = createOpenAISimulator({
    token: options.token,
    maxJobs: options.maxJobs ?? 3,
    defaultIntervalMs: options.defaultIntervalMs ?? 500,
    now,
  });
  const replicate = createReplicateSimulator({
    token: options.token,
    publicOrigin: options.publicOrigin,
    defaultSteps: options.defaultSteps ?? 4,
    defaultIntervalMs: options.defaultIntervalMs ?? 500,
    ...(options.replicateRetentionMs === undefined ? {} : { retentionMs: options.replicateRetentionMs }),
    now,
  });
  const simRoutes = createSimRoutes({
    stats,
    runningCount: service.runningCount,
    resets: [fal.resetStats, openai.resetStats, replicate.resetStats],
  });

  const app = new Hono();
  // Registered before the vendor routes so the vendor's auth middleware never runs for them.
  app.route('/_sim', simRoutes);
  if (basePath !== '') app.route(`${basePath}/_sim`, simRoutes);
  app.route('/', fal.app); // before the Midjourney routes, whose auth would claim every path with basePath ''
  app.route('/', openai.app);
  app.route('/', replicate.app);
  app.route(basePath || '/', createVendorRoutes({ service, stats, token: options.token, publicOrigin: options.publicOrigin, now }));
  app.notFound(() => errorResponse(404, 'Not found'));
  app.onError(() => errorResponse(500, 'Internal server error'));

  return {
    app,
    fetch: async (request) => app.fetch(request),
    stats: () => stats.snapshot(service.runningCount()),
    falStats: fal.stats,
    openaiStats: openai.stats,
    replicateStats: replicate.stats,
    close: () => {
      service.close();
      fal.close();
      openai.close();
      replicate.close();
    },
  };
}
