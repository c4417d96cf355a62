import { Hono } from 'hono';
import { RelayError } from '../core/errors.ts';
import { createRedactor } from '../core/redact.ts';
import { createUpstreamClient } from '../core/upstream.ts';
import { createBodyLimit, createReply, errorHandler, notFoundHandler, passThrough } from '../http/replies.ts';
import { checkJobId, checkVerb, parseCreateBody } from '../http/validate.ts';
import { loadWorkerConfig } from './config.ts';
import type { Env } from './env.ts';
import type { StartResult } from './job-starter.ts';
import { createConsoleLogger } from './logger.ts';

const BASE = '/v3/midjourney';

/**
 * The Worker's front door: the same API as the Node gateway. Creating a job goes through a
 * JobStarter object; everything about one job is answered by that job's JobObject.
 */
export function createWorkerApp(env: Env): Hono {
  const config = loadWorkerConfig(env);
  const redact = createRedactor([config.UPSTREAM_TOKEN]);
  const logger = createConsoleLogger(config.LOG_LEVEL, redact);
  const upstream = createUpstreamClient({ baseUrl: config.UPSTREAM_URL, token: config.UPSTREAM_TOKEN }, redact);
  const jobObject = (jobId: string) => env.JOBS.get(env.JOBS.idFromName(jobId));
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ ok: true }));
  // Durable Objects are the bus here: nothing separate to be unreachable.
  app.get('/readyz', (c) => c.json({ ok: true, bus: 'reachable' }));

  app.post(`${BASE}/jobs/:verb`, createBodyLimit(config.MAX_BODY_BYTES), async (c) => {
    const verb = checkVerb(c.req.param('verb'));
    const { body, stream } = parseCreateBody(await c.req.text());
    const starter = env.JOB_STARTERS.get(env.JOB_STARTERS.newUniqueId());
    // The RPC result type drops `unknown` (the reply's JSON body); it arrives structured-cloned.
    const started = (await starter.start(verb, body)) as StartResult;
    if (started.kind === 'reply') return createReply(started.reply, redact);
    if (started.kind === 'failed') throw new RelayError('upstream_error', started.message);
    const { jobId } = started;
    logger.info({ jobId, verb }, 'job created');
    const job = jobObject(jobId);
    if (!stream) {
      const snapshot = (await job.createdJob(jobId, 10_000)) ?? { jobid: jobId, verb, status: 'created' };
      return c.json(snapshot, 201, { 'X-Job-Id': jobId });
    }
    const url = new URL(`${BASE}/jobs/${encodeURIComponent(jobId)}/stream`, c.req.url);
    const response = await job.fetch(new Request(url));
    const headers = new Headers(response.headers);
    headers.set('X-Job-Id', jobId);
    return new Response(response.body, { status: response.status, headers });
  });

  app.get(`${BASE}/jobs`, async () => passThrough(await upstream.listJobs()));

  // One job's routes are served by its object, running the shared app on its own storage.
  const toJobObject = (c: { req: { param(name: 'jobid'): string; raw: Request } }) => jobObject(checkJobId(c.req.param('jobid'))).fetch(c.req.raw);
  app.get(`${BASE}/jobs/:jobid/stream`, toJobObject);
  app.get(`${BASE}/jobs/:jobid`, toJobObject);
  app.delete(`${BASE}/jobs/:jobid`, toJobObject);

  app.notFound(notFoundHandler);
  app.onError(errorHandler(logger, redact));
  return app;
}
