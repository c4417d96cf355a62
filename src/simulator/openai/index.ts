import type { Hono } from 'hono';
import { createOpenAIRoutes } from './routes.ts';
import { createOpenAIService } from './service.ts';
import { createOpenAISimRoutes } from './sim-routes.ts';
import { createOpenAIStats } from './stats.ts';
import type { OpenAIStats } from './stats.ts';

export type { OpenAIStats } from './stats.ts';

/** Where a client's base URL points, as it would point at `https://api.openai.com/v1`. */
export const OPENAI_BASE_PATH = '/openai/v1';

/** Text deltas per response when the input does not say `--sim-steps`. */
export const DEFAULT_OPENAI_STEPS = 8;

/** What the OpenAI part shares with the rest of the simulator. */
export interface OpenAISimulatorOptions {
  token?: string | undefined;
  maxJobs: number;
  defaultIntervalMs: number;
  now: () => number;
}

/** The OpenAI part once mounted: its stats, and the shutdown of its timers and streams. */
export interface MountedOpenAISimulator {
  stats(): OpenAIStats;
  close(): void;
}

/**
 * Mounts the Responses API simulator on `app`: the API at {@link OPENAI_BASE_PATH}, its stats at
 * `/_sim/openai/stats`, and a hook so `POST /_sim/reset` (at any base path) clears them too. Call it before the routes
 * mounted at `/` or `/_sim`, so they never see these paths first.
 */
export function mountOpenAISimulator(app: Hono, options: OpenAISimulatorOptions): MountedOpenAISimulator {
  const stats = createOpenAIStats();
  const service = createOpenAIService({ ...options, defaultSteps: DEFAULT_OPENAI_STEPS, stats });
  // Every reset route (`/_sim/reset`, and the one under the Midjourney base path) clears these stats too.
  app.use('*', async (c, next) => {
    if (c.req.method === 'POST' && c.req.path.endsWith('/_sim/reset')) stats.reset();
    await next();
  });
  app.route('/_sim/openai', createOpenAISimRoutes(stats));
  app.route(OPENAI_BASE_PATH, createOpenAIRoutes({ ...options, service, stats }));
  return { stats: stats.snapshot, close: service.close };
}
