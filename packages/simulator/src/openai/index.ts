import { Hono } from 'hono';
import { createOpenAIRoutes } from './routes.ts';
import { createOpenAIService } from './service.ts';
import { createOpenAIStats } from './stats.ts';
import type { OpenAIStats } from './stats.ts';

export type { OpenAIStats } from './stats.ts';

/** Where a client's base URL points, as it would point at `https://api.openai.com/v1`. */
export const OPENAI_BASE_PATH = '/openai/v1';

/** Text deltas per response when the input does not say `--sim-steps`. */
export const DEFAULT_OPENAI_STEPS = 8;

/** What the OpenAI part takes from the simulator's shared options. */
export interface OpenAISimulatorDeps {
  /** If set, the only API key accepted. */
  token?: string | undefined;
  /** Responses queued or in progress at once, for the whole simulator, before a create gets 429. */
  maxJobs: number;
  defaultIntervalMs: number;
  now: () => number;
}

/** The Responses API stand-in: `app` serves `/openai/v1/*` and `/_sim/openai/stats`. */
export interface OpenAISimulator {
  app: Hono;
  stats(): OpenAIStats;
  resetStats(): void;
  /** Clears every timer and ends every open stream. */
  close(): void;
}

/** Builds OpenAI's Responses API (background mode) stand-in on Hono and Web APIs only. */
export function createOpenAISimulator(deps: OpenAISimulatorDeps): OpenAISimulator {
  const stats = createOpenAIStats();
  const service = createOpenAIService({ ...deps, defaultSteps: DEFAULT_OPENAI_STEPS, stats });
  const app = new Hono();
  app.get('/_sim/openai/stats', (c) => c.json(stats.snapshot()));
  app.route(OPENAI_BASE_PATH, createOpenAIRoutes({ ...deps, service, stats }));
  return { app, stats: stats.snapshot, resetStats: stats.reset, close: service.close };
}
