import { Hono } from 'hono';
import type { OpenAIStatsRecorder } from './stats.ts';

/** `/_sim/openai/*`: the OpenAI part's stats, unauthenticated like the rest of `/_sim`. */
export function createOpenAISimRoutes(stats: OpenAIStatsRecorder): Hono {
  const app = new Hono();
  app.get('/stats', (c) => c.json(stats.snapshot()));
  return app;
}
