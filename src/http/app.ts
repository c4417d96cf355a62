import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { MAX_TOKEN_JOBS } from '../core/auth/subscribe-token.ts';
import { RelayError, errorBody } from '../core/errors.ts';
import { SSE_HEADERS } from '../core/sse.ts';
import type { Logger } from '../core/logger.ts';
import type { CreateOutcome, Relay } from '../core/relay.ts';
import { type UpstreamReply, upstreamErrorMessage } from '../core/upstream.ts';
import { accessLog } from './access-log.ts';
import { requireApiKey, requireJobAccess } from './auth.ts';
import { type AppQueue, queueCreate, wantsQueue } from './queued-create.ts';
import { queuedStream } from './queued-stream.ts';
import type { Security } from './security.ts';
import { type SinkOpener, resumePoint, subscriptionResponse } from './subscription-response.ts';
import { checkCreateLimits, checkJobId, checkVerb, parseCreateBody, parseTokenRequest } from './validate.ts';

/** What the app uses of the relay: all of it on Node; on Workers a front backed by Durable Objects. */
export type AppRelay = Pick<Relay, 'create' | 'snapshot' | 'waitForSnapshot' | 'upstream'> &
  Partial<Pick<Relay, 'subscribe'>> & { bus: Pick<Relay['bus'], 'ping'> };

/** Where a subscription's SSE Response comes from, given the resume point and extra headers. */
export type OpenSubscription = (
  jobId: string,
  since: number,
  options: { headers: Record<string, string>; onClose: () => void /** The runtime's request context (Hono's `c.env`). */; env?: unknown },
) => Promise<Response>;

export interface AppDeps {
  relay: AppRelay;
  /**
   * Serves subscriptions; default: this process's hubs (`relay.subscribe`). The Worker passes
   * one that asks the job's Durable Object, where its hub lives.
   */
  openSubscription?: OpenSubscription;
  logger: Logger;
  /** Removes secrets from anything about to be sent (upstream bodies can echo the token). */
  redact: (text: string) => string;
  retryMs: number;
  maxBodyBytes: number;
  /** Max bytes queued for one slow subscriber before it is dropped. */
  maxQueuedBytes?: number;
  /** Where the vendor API paths are mounted. */
  basePath?: string;
  /** The runtime's fast subscriber sink (Node: straight to the socket); default: a Web stream body. */
  openSink?: SinkOpener;
  /** Prometheus exposition for `GET /metrics`, when the runtime has it. */
  metrics?: { contentType: string; render(): Promise<string> };
  /** API keys, subscribe tokens, CORS and limits (see createSecurity). */
  security: Security;
  /** The opt-in create queue (`X-Queue: true`); without it upstream 429s are passed on. Needs `relay.subscribe`. */
  queue?: AppQueue;
}

/** The gateway's HTTP API, runtime-neutral: Node and Workers both serve `app.fetch`. */
export function createApp(deps: AppDeps): Hono {
  const { relay, logger, security } = deps;
  const base = deps.basePath ?? '/v3/midjourney';
  const streamOptions = {
    retryMs: deps.retryMs,
    maxQueuedBytes: deps.maxQueuedBytes ?? 8 << 20,
    maxReplay: security.maxReplayEvents,
    openSink: deps.openSink,
  };
  const app = new Hono();
  app.use('*', requestId(), accessLog(logger, security.clientIp));
  app.use('*', security.guard);
  app.use('*', security.cors.middleware);

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

  const limitBody = bodyLimit({
    maxSize: deps.maxBodyBytes,
    onError: () => {
      throw new RelayError('payload_too_large', `request body exceeds ${deps.maxBodyBytes} bytes`);
    },
  });

  /** Runs `open` holding a subscriber slot, which the SSE response frees when the client is gone, whichever way. */
  async function withSlot(c: Context, open: (release: () => void) => Promise<Response>): Promise<Response> {
    const release = security.subscribers.acquire(security.clientIp(c));
    try {
      return await open(release);
    } catch (err) {
      release();
      throw err;
    }
  }

  const openSubscription: OpenSubscription =
    deps.openSubscription ??
    (async (jobId, since, { headers, onClose, env }) => {
      if (!relay.subscribe) throw new Error('openSubscription is required when the relay has no local hubs');
      const outcome = await relay.subscribe(jobId, since);
      return subscriptionResponse(outcome, since, { ...streamOptions, onClose, headers }, env);
    });

  async function subscribe(
    c: Context,
    jobId: string,
    since: number,
    release: () => void,
    extra?: Record<string, string>,
  ): Promise<Response> {
    // A stream's head goes out here, not through Hono: the request id goes with it.
    const headers = { ...security.cors.headersFor(c.req.header('Origin')), 'X-Request-Id': c.get('requestId') as string, ...extra };
    return openSubscription(jobId, since, { headers, onClose: release, env: c.env });
  }

  const streamPath = (jobId: string, token: string) =>
    `${base}/jobs/${encodeURIComponent(jobId)}/stream?token=${encodeURIComponent(token)}`;

  app.post(`${base}/jobs/:verb`, limitBody, async (c) => {
    const keyId = await requireApiKey(security, c);
    const verb = checkVerb(c.req.param('verb'));
    security.createRate.take(keyId ?? `ip:${security.clientIp(c)}`);
    const parsed = parseCreateBody(await c.req.text());
    const body = checkCreateLimits(verb, parsed.body, security);
    const queued = deps.queue !== undefined && wantsQueue(c.req.header('X-Queue'));
    // A streaming create takes its subscriber slot first: a full instance starts no job.
    if (parsed.stream) return withSlot(c, (release) => create(c, verb, body, release, queued));
    return create(c, verb, body, undefined, queued);
  });

  /** Starts the job; streams it when given a subscriber slot, else answers 201 with the job. */
  async function create(
    c: Context,
    verb: string,
    body: Record<string, unknown>,
    release: (() => void) | undefined,
    queued = false,
  ): Promise<Response> {
    const outcome = queued ? await createInQueue(c, verb, body, release) : await relay.create(verb, body);
    if (outcome.kind === 'response') return outcome.response;
    if (outcome.kind === 'reply') {
      const { status, body: replyBody } = outcome.reply;
      if (status >= 400) throw upstreamFailure(outcome.reply, deps.redact);
      return c.json(replyBody as object, status as 200);
    }
    const issued = security.tokens.issue([outcome.jobId]);
    if (release) {
      const { token } = await issued;
      return subscribe(c, outcome.jobId, -1, release, { 'X-Job-Id': outcome.jobId, 'X-Subscribe-Token': token });
    }
    const job = (await relay.waitForSnapshot(outcome.jobId, 10_000)) ?? { jobid: outcome.jobId, verb, status: 'created' };
    const { token } = await issued;
    const headers = { 'X-Job-Id': outcome.jobId, 'X-Subscribe-Token': token };
    return c.json({ ...job, subscribe_token: token, stream_url: streamPath(outcome.jobId, token) }, 201, headers);
  }

  /**
   * A create that waits for upstream capacity. It answers as an ordinary create when the job
   * starts at once; a streaming one that must wait becomes the queued SSE stream; a
   * non-streaming one holds the request until the job starts.
   */
  async function createInQueue(
    c: Context,
    verb: string,
    body: Record<string, unknown>,
    release: (() => void) | undefined,
  ): Promise<CreateOutcome | { kind: 'response'; response: Response }> {
    const queue = deps.queue as AppQueue;
    const left = new AbortController();
    c.req.raw.signal.addEventListener('abort', () => left.abort(), { once: true });
    const queued = queueCreate(queue.runner, () => relay.create(verb, body), left.signal);
    const first = await Promise.race([queued.outcome, queued.waiting.then(() => 'waiting' as const)]);
    if (first !== 'waiting') return first;
    if (!release || !relay.subscribe) return queued.outcome;
    const response = queuedStream(queued, {
      ...streamOptions,
      heartbeatMs: queue.heartbeatMs,
      headers: security.cors.headersFor(c.req.header('Origin')),
      env: c.env,
      subscribe: relay.subscribe,
      refusal: (reply) => upstreamFailure(reply, deps.redact),
      leave: () => left.abort(),
      onClose: release,
      async describe(jobId) {
        const { token } = await security.tokens.issue([jobId]);
        return { jobid: jobId, subscribe_token: token, stream_url: streamPath(jobId, token) };
      },
    });
    return { kind: 'response', response };
  }

  app.post('/v1/tokens', limitBody, async (c) => {
    await requireApiKey(security, c);
    const { jobs, ttlS } = parseTokenRequest(await c.req.text(), MAX_TOKEN_JOBS);
    const { token, expiresAt } = await security.tokens.issue(jobs, ttlS);
    const stream_urls = Object.fromEntries(jobs.map((jobId) => [jobId, streamPath(jobId, token)]));
    return c.json({ token, expires_at: expiresAt, expires_in: ttlS ?? security.tokenTtlS, jobs, stream_urls }, 201);
  });

  app.get(`${base}/jobs/:jobid/stream`, async (c) => {
    const jobId = checkJobId(c.req.param('jobid'));
    await requireJobAccess(security, c, jobId);
    const since = resumePoint(c.req.header('Last-Event-ID'), c.req.query('since'));
    // Hono answers HEAD by running GET and dropping the body uncancelled: never open a subscriber for it.
    if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
    return withSlot(c, (release) => subscribe(c, jobId, since, release));
  });

  app.get(`${base}/jobs/:jobid`, async (c) => {
    const jobId = checkJobId(c.req.param('jobid'));
    await requireJobAccess(security, c, jobId);
    const job = await relay.snapshot(jobId);
    if (job) return c.json(job);
    return passThrough(await relay.upstream.getJob(jobId), deps.redact);
  });

  app.get(`${base}/jobs`, async (c) => {
    await requireApiKey(security, c);
    return passThrough(await relay.upstream.listJobs(), deps.redact);
  });

  app.delete(`${base}/jobs/:jobid`, async (c) => {
    await requireApiKey(security, c);
    const jobId = checkJobId(c.req.param('jobid'));
    return passThrough(await relay.upstream.deleteJob(jobId), deps.redact);
  });

  app.notFound((c) => c.json({ error: 'no such route', code: 'not_found' }, 404));

  app.onError((err, c) => {
    if (err instanceof RelayError) {
      if (err.retryAfterS !== undefined) c.header('Retry-After', String(err.retryAfterS));
      if (err.code === 'unauthorized') c.header('WWW-Authenticate', 'Bearer realm="sse-relay"');
      return c.json(errorBody(err), err.status as 400);
    }
    logger.error(
      { err: deps.redact(err instanceof Error ? (err.stack ?? err.message) : String(err)), path: c.req.path },
      'unhandled error',
    );
    return c.json({ error: 'internal error', code: 'internal' }, 500);
  });

  return app;
}

/** An upstream success forwarded as is (it was redacted when read); a failure as our error shape. */
function passThrough(reply: UpstreamReply, redact: (text: string) => string): Response {
  if (reply.status >= 400 || reply.status < 200) throw upstreamFailure(reply, redact);
  return Response.json(reply.body, { status: reply.status });
}

/**
 * An upstream error answer as the gateway's error, `code` included: 404 stays `not_found`, other
 * 4xx (and the vendor's 596) keep their status as `upstream_rejected`, anything else is a 502.
 */
function upstreamFailure(reply: UpstreamReply, redact: (text: string) => string): RelayError {
  const message = redact(upstreamErrorMessage(reply.body) ?? `upstream answered ${reply.status}`);
  if (reply.status === 404) return new RelayError('not_found', message);
  if ((reply.status >= 400 && reply.status < 500) || reply.status === 596) {
    return new RelayError('upstream_rejected', message, { status: reply.status });
  }
  return new RelayError('upstream_error', message);
}
