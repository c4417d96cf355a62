import { Hono } from 'hono';
import type { Logger } from '../core/logger.ts';
import type { Relay } from '../core/relay.ts';
import { createBodyLimit, createReply, errorHandler, notFoundHandler, passThrough } from './replies.ts';
import { resumePoint, subscriptionResponse } from './subscription-response.ts';
import { checkJobId, checkVerb, parseCreateBody } from './validate.ts';

export interface AppDeps {
  relay: Relay;
  logger: Logger;
  /** Removes secrets from anything about to be sent (upstream bodies can echo the token). */
  redact: (text: string) => string;
  retryMs: number;
  maxBodyBytes: number;
  /** Max bytes queued for one slow subscriber before it is dropped. */
  maxQueuedBytes?: number;
  /** Where the vendor API paths are mounted. */
  basePath?: string;
  /** Prometheus exposition for `GET /metrics`, when the runtime has it. */
  metrics?: { contentType: string; render(): Promise<string> };
}

/** The gateway's HTTP API, runtime-neutral: Node and Workers both serve `app.fetch`. */
export function createApp(deps: AppDeps): Hono {
  const { relay, logger } = deps;
  const base = deps.basePath ?? '/v3/midjourney';
  const streamOptions = { retryMs: deps.retryMs, maxQueuedBytes: deps.maxQueuedBytes ?? 8 << 20 };
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    try {
      await relay.bus.ping();
      return c.json({ ok: true, bus: 'reachable' });
    } catch {
      return c.json({ ok: false, bus: 'unreachable' }, 503);
    }
  });

  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (c) => c.body(deps.redact(await metrics.render()), 200, { 'Content-Type': metrics.contentType }));
  }

  app.post(`${base}/jobs/:verb`, createBodyLimit(deps.maxBodyBytes), async (c) => {
    const verb = checkVerb(c.req.param('verb'));
    const { body, stream } = parseCreateBody(await c.req.text());
    const outcome = await relay.create(verb, body);
    if (outcome.kind === 'reply') return createReply(outcome.reply, deps.redact);
    const headers = { 'X-Job-Id': outcome.jobId };
    if (!stream) {
      const job = (await relay.waitForSnapshot(outcome.jobId, 10_000)) ?? { jobid: outcome.jobId, verb, status: 'created' };
      return c.json(job, 201, headers);
    }
    return subscriptionResponse(await relay.subscribe(outcome.jobId, -1), -1, { ...streamOptions, headers });
  });

  app.get(`${base}/jobs/:jobid/stream`, async (c) => {
    const jobId = checkJobId(c.req.param('jobid'));
    const since = resumePoint(c.req.header('Last-Event-ID'), c.req.query('since'));
    return subscriptionResponse(await relay.subscribe(jobId, since), since, streamOptions);
  });

  app.get(`${base}/jobs/:jobid`, async (c) => {
    const jobId = checkJobId(c.req.param('jobid'));
    const job = await relay.snapshot(jobId);
    if (job) return c.json(job);
    return passThrough(await relay.upstream.getJob(jobId));
  });

  app.get(`${base}/jobs`, async () => passThrough(await relay.upstream.listJobs()));

  app.delete(`${base}/jobs/:jobid`, async (c) => {
    const jobId = checkJobId(c.req.param('jobid'));
    return passThrough(await relay.upstream.deleteJob(jobId));
  });

  app.notFound(notFoundHandler);
  app.onError(errorHandler(logger, deps.redact));

  return app;
}
