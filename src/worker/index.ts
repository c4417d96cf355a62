import type { Hono } from 'hono';
import { createWorkerApp } from './app.ts';
import type { Env } from './env.ts';

export { JobObject } from './job-object.ts';
export { JobStarter } from './job-starter.ts';

const apps = new WeakMap<Env, Hono>();

/** The Cloudflare Worker entry: config is read once per environment, then every request is the app's. */
export default {
  fetch(request, env, ctx) {
    let app = apps.get(env);
    if (!app) {
      app = createWorkerApp(env);
      apps.set(env, app);
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
