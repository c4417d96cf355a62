import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { RelayError, errorBody } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Relay } from '../core/relay.ts';
import { upstreamErrorMessage } from '../core/upstream.ts';
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

  app.post(
    `${base}/jobs/:verb`,
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => {
        throw new RelayError('payload_too_large', `request body exceeds ${deps.maxBodyBytes} bytes`);
      },
    }),
    async (c) => {
      const verb = checkVerb(c.req.param('verb'));
      const { body, stream } = parseCreateBody(await c.req.text());
      const outcome = await relay.create(verb, body);
      if (outcome.kind === 'reply') {
        const { status, body: replyBody } = outcome.reply;
        if (status >= 400) {
          const message = upstreamErrorMessage(replyBody) ?? `upstream answered ${status}`;
          throw new RelayError('upstream_rejected', deps.redact(message), { status: (status >= 400 && status < 500) || status === 596 ? status : 502 });
        }
        return c.json(replyBody as object, status as 200);
      }
      const headers = { 'X-Job-Id': outcome.jobId };
      if (!stream) {
        const job = (await relay.waitForSnapshot(outcome.jobId, 10_000)) ?? { jobid: outcome.jobId, verb, status: 'created' };
        return c.json(job, 201, headers);
      }
      return subscriptionResponse(await relay.subscribe(outcome.jobId, -1), -1, { ...streamOptions, headers });
    },
  );

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

  app.notFound((c) => c.json({ error: 'no such route', code: 'not_found' }, 404));

  app.onError((err, c) => {
    if (err instanceof RelayError) {
      if (err.retryAfterS !== undefined) c.header('Retry-After', String(err.retryAfterS));
      return c.json(errorBody(err), err.status as 400);
    }
    logger.error({ err: deps.redact(err instanceof Error ? (err.stack ?? err.message) : String(err)), path: c.req.path }, 'unhandled error');
    return c.json({ error: 'internal error', code: 'internal' }, 500);
  });

  return app;
}

/** An upstream reply forwarded as is (it was redacted when read). */
function passThrough(reply: { status: number; body: unknown }): Response {
  const status = reply.status >= 200 && reply.status < 600 ? reply.status : 502;
  return Response.json(reply.body, { status });
}
