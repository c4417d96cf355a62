import type { Hono } from 'hono';
import { ConfigError } from '../core/config.ts';
import { RelayError } from '../core/errors.ts';
import { errorAnswer, errorResponse } from '../http/error-response.ts';
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
      try {
        app = createWorkerApp(env);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        // A misconfigured deploy (e.g. no GATEWAY_API_KEYS and no GATEWAY_OPEN) serves nothing; the message names variables, never values.
        console.error(err.message);
        return errorResponse(errorAnswer(new RelayError('unavailable', `gateway not started: ${err.message}`)));
      }
      apps.set(env, app);
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
