import { type Context, type ErrorHandler, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { type JobRef, qualifiedJobId } from '../core/auth/job-ref.ts';
import { MAX_TOKEN_JOBS } from '../core/auth/subscribe-token.ts';
import { RelayError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { BusHealth } from '../core/bus/bus.ts';
import type { CreateOutcome, Relay } from '../core/relay.ts';
import { SSE_HEADERS } from '../core/fanout/sse.ts';
import { accessLog, requestIdMiddleware } from './access-log.ts';
import { type StaticAssets, mountBrowserRoutes } from './browser-routes.ts';
import { type ErrorShape, createErrorHandler } from './error-response.ts';
import type { HttpCounters } from './http-counters.ts';
import { requireJobAccess, requireTokenIssuer, tokenScope } from './auth.ts';
import { type MediaDeps, mountMediaRoute } from './media-route.ts';
import { multiplexRequest } from './multiplex.ts';
import { type AppPublishing, mountPublishRoutes } from './publish-routes.ts';
import { type AppQueue, queueCreate } from './queued-create.ts';
import type { Security } from './security.ts';
import { resumePoint } from './subscription-response.ts';
import type { Subscriptions } from './subscriptions.ts';
import { checkJobId, parseTokenRequest } from './validate.ts';

/** What the app uses of one profile's relay (its streams come through AppDeps.subscriptions): a Relay on Node; on Workers a front backed by Durable Objects. */
export type AppRelay = Pick<Relay, 'profile' | 'create' | 'snapshot' | 'history' | 'waitForSnapshot' | 'waitForEnd' | 'upstream'>;

/** A subscription as a drop-in route asks for it (see RouteKit.subscribe). */
export interface KitSubscription {
  /** The resume point: the last seq the client has (default -1, from the start). */
  since?: number;
  /** Frees the subscriber slot the caller holds (see RouteKit.withSlot). */
  release: () => void;
  /** Response headers besides SSE's, CORS and the request id. */
  headers?: Record<string, string>;
  /** Frames in the profile's drop-in style (profile.dropInFrames) instead of the uniform path's. */
  dropIn?: boolean;
}

/** What a profile's drop-in routes get from the app: its relay, and the shared access, limits and subscription steps. */
export interface RouteKit {
  relay: AppRelay;
  security: Security;
  redact: (text: string) => string;
  /** Body size limit middleware (413 past MAX_BODY_BYTES). */
  limitBody: ReturnType<typeof bodyLimit>;
  /** The app's error handler with the vendor's error shape, for the profile's own sub-app (`onError`). */
  onError(shape: ErrorShape): ErrorHandler;
  /** Runs `open` holding a subscriber slot, which the SSE response frees when the client is gone, whichever way. */
  withSlot(c: Context, open: (release: () => void) => Promise<Response>): Promise<Response>;
  /** Opens this profile's job for the caller (after access was checked), holding `release`'s slot. */
  subscribe(c: Context, jobId: string, subscription: KitSubscription): Promise<Response>;
  /** Throws unless the caller may read this profile's job. */
  requireJobAccess(c: Context, jobId: string): Promise<void>;
  /** A subscribe route's whole answer for the job named by `rawJobId`: id check, access, resume point, HEAD, slot, stream. */
  serveStream(c: Context, rawJobId: string | undefined, dropIn?: boolean): Promise<Response>;
  /** A subscribe token for this profile's jobs. */
  issueToken(jobIds: readonly string[], ttlS?: number): Promise<{ token: string; expiresAt: number }>;
  /**
   * The opt-in create queue (`X-Queue: true`), when configured and the runtime streams queued creates (`Subscriptions.openQueued`):
   * runs `create` when the upstream has room. It answers as an ordinary create when the job
   * starts at once; a streaming one (given `release` and `options`) that must wait becomes the
   * queued SSE stream; a non-streaming one holds the request until the job starts.
   */
  createInQueue?(
    c: Context,
    create: () => Promise<CreateOutcome>,
    release?: () => void,
    options?: QueueCreateOptions,
  ): Promise<CreateOutcome | { kind: 'response'; response: Response }>;
}

/** What the queued stream says in the vendor's terms. */
export interface QueueCreateOptions {
  /** The `submitted` frame's contents for the started job: id, subscribe token, stream URL (not sent with vendorFailure). */
  describe?(jobId: string): Promise<Record<string, string>>;
  /** Turns an upstream refusal into the error the caller sees (redacted). */
  refusal(reply: { status: number; body: unknown }): Error;
  /**
   * For drop-in paths whose clients know only the vendor's events (OpenAI's SDK): a waiting
   * stream carries `:` comments only, no `queued`/`submitted` frames, the job's events come in
   * the profile's drop-in frames, and a failure once the stream began is this vendor event (its
   * data, from the error or refusal; named by the drop-in style).
   */
  vendorFailure?(err: unknown): string;
}

/** One profile as the app serves it: its relay, its drop-in routes, and where its jobs' streams are. */
export interface AppProfile {
  relay: AppRelay;
  /** Mounts the vendor's own paths (e.g. `/v3/midjourney/...`). */
  routes?(app: Hono, kit: RouteKit): void;
  /** The stream URL handed out with tokens (default: the uniform `/v1/jobs/<profile>/<id>/stream`). */
  streamPath?(jobId: string): string;
  /**
   * The profile's own routes (with `:jobid`) that serve exactly its jobs' uniform stream
   * (`kit.serveStream(c, jobid)`, nothing else): a runtime may answer them without the app (stream-shortcut.ts).
   */
  streamRoutes?: readonly string[];
}

/** What the app needs from its runtime; `Ctx` is the runtime's request context (Hono's `c.env`), handed to `subscriptions`. */
export interface AppDeps<Ctx> {
  /** Every profile served; the first is the one bare job ids in `/v1/tokens` bodies and tokens belong to. */
  profiles: readonly AppProfile[];
  /** Readiness: the shared bus answers ping. */
  bus: BusHealth;
  /** Where jobs' streams come from: Node's hubs (createLocalSubscriptions), the Worker's Durable Objects. */
  subscriptions: Subscriptions<Ctx>;
  logger: Logger;
  /** Removes secrets from anything about to be sent (upstream bodies can echo the token). */
  redact: (text: string) => string;
  maxBodyBytes: number;
  /** Prometheus exposition for `GET /metrics`, when the runtime has it. */
  metrics?: { contentType: string; render(): Promise<string> };
  /** Where requests and refusals are counted (createHttpCounters), when the runtime exports them. */
  counters?: HttpCounters;
  /** API keys, subscribe tokens, CORS and limits (see createSecurity). */
  security: Security;
  /** The opt-in create queue (`X-Queue: true`) of each profile, by name; without one its upstream 429s are passed on. Needs `subscriptions.openQueued`. */
  queues?: ReadonlyMap<string, AppQueue>;
  /** The dashboard and browser client (`web/`) by URL path, where the runtime serves them itself (Node; the Worker's are its static assets). */
  assets?: StaticAssets;
  /** The publish API's namespaces (PUBLISHERS); their jobs' streams come through `subscriptions` like any job's. */
  publishing?: AppPublishing;
  /** The media proxy (`/v1/jobs/<profile>/<id>/media/<n>`); without it the route is not served. */
  media?: MediaDeps;
}

/** The uniform subscribe route (a runtime's stream shortcut serves it too, stream-shortcut.ts). */
export const UNIFORM_STREAM_ROUTE = '/v1/jobs/:profile/:jobid/stream';

/** The uniform subscribe path of any profile's job. */
export const uniformStreamPath = (job: JobRef) => `/v1/jobs/${job.profile}/${encodeURIComponent(job.jobId)}/stream`;

/** The gateway's HTTP API, runtime-neutral: Node and Workers both serve `app.fetch`. */
export function createApp<Ctx>(deps: AppDeps<Ctx>): Hono {
  const { logger, security, subscriptions } = deps;
  const profiles = new Map(deps.profiles.map((entry) => [entry.relay.profile.name, entry]));
  const onError = createErrorHandler(deps);
  const app = new Hono();
  if (deps.counters) app.use('*', deps.counters.middleware);
  app.use('*', requestIdMiddleware, accessLog(logger, security.clientIp));
  app.use('*', security.guard);
  app.use('*', security.cors.middleware);

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    try {
      await deps.bus.ping();
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

  async function withSlot(c: Context, open: (release: () => void) => Promise<Response>): Promise<Response> {
    const release = security.subscribers.acquire(security.clientIp(c));
    try {
      return await open(release);
    } catch (err) {
      release();
      throw err;
    }
  }

  // A stream's head goes out through the runtime, not through Hono: the request id goes with it.
  // (Built up, not spread: see subscriptions.ts.)
  const streamHeaders = (c: Context) => {
    const headers = security.cors.headersFor(c.req.header('Origin'));
    headers['X-Request-Id'] = c.get('requestId') as string;
    return headers;
  };

  /** Opens the job's stream through the runtime, in the caller's subscriber slot. */
  function subscribe(c: Context, job: JobRef, { since = -1, release, headers: extra, dropIn }: KitSubscription): Promise<Response> {
    const headers = Object.assign(streamHeaders(c), extra);
    // Hono's `c.env` is typed per app, not here: it is what the runtime serving this app passed in.
    const context: Ctx = c.env;
    return subscriptions.open(job, since, { headers, onClose: release, context, ...(dropIn ? { dropIn } : {}) });
  }

  const streamPathOf = (job: JobRef) => {
    const path = profiles.get(job.profile)?.streamPath?.(job.jobId) ?? uniformStreamPath(job);
    return (token: string) => `${path}?token=${encodeURIComponent(token)}`;
  };

  app.post('/v1/tokens', limitBody, async (c) => {
    const publisher = await requireTokenIssuer(security, c);
    const { jobs, refs, ttlS } = parseTokenRequest(await c.req.text(), MAX_TOKEN_JOBS, security.profiles);
    tokenScope(publisher, refs);
    const { token, expiresAt } = await security.tokens.issue(refs.map(qualifiedJobId), ttlS);
    const stream_urls = Object.fromEntries(jobs.map((entry, i) => [entry, streamPathOf(refs[i] as JobRef)(token)]));
    return c.json({ token, expires_at: expiresAt, expires_in: ttlS ?? security.tokenTtlS, jobs, stream_urls }, 201);
  });

  /** A subscribe route: the job id checked, access, the resume point, then the stream in a subscriber slot. */
  async function serveStream(c: Context, profile: string, rawJobId: string | undefined, dropIn?: boolean): Promise<Response> {
    const job = { profile, jobId: checkJobId(rawJobId) };
    await requireJobAccess(security, c, job);
    const since = resumePoint(c.req.header('Last-Event-ID'), c.req.query('since'));
    // Hono answers HEAD by running GET and dropping the body uncancelled: never open a subscriber for it.
    if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
    return withSlot(c, (release) => subscribe(c, job, { since, release, ...(dropIn ? { dropIn } : {}) }));
  }

  const profileNamed = (name: string) => {
    const entry = profiles.get(name);
    if (!entry) throw new RelayError('not_found', `unknown profile; expected one of ${[...profiles.keys()].join(', ')}`);
    return entry;
  };

  // One subscribe path for every profile's jobs, with the uniform frames (gap notices, 204 when finished).
  app.get(UNIFORM_STREAM_ROUTE, async (c) => {
    const name = c.req.param('profile');
    if (deps.publishing?.relays.has(name)) return serveStream(c, name, c.req.param('jobid'));
    const entry = profileNamed(name);
    return serveStream(c, entry.relay.profile.name, c.req.param('jobid'));
  });

  // Any profile's job as the gateway last stored it (what a client re-reads after a gap); access as for its stream.
  app.get('/v1/jobs/:profile/:jobid', async (c, next) => {
    // A publisher namespace's job: its latest event (publish-routes.ts).
    if (deps.publishing?.relays.has(c.req.param('profile'))) return next();
    const entry = profileNamed(c.req.param('profile'));
    const job = { profile: entry.relay.profile.name, jobId: checkJobId(c.req.param('jobid')) };
    await requireJobAccess(security, c, job);
    const latest = await entry.relay.snapshot(job.jobId);
    if (!latest) throw new RelayError('not_found', 'no such job here (or none of its events is stored yet)');
    return c.json(latest);
  });

  /** Several jobs of any profiles on one connection, in one subscriber slot (src/http/multiplex.ts). */
  async function serveMultiplexed(c: Context): Promise<Response> {
    const jobs = await multiplexRequest(c, security, [...profiles.keys()]);
    if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
    const context: Ctx = c.env;
    return withSlot(c, (release) => subscriptions.openMultiplexed(jobs, { headers: streamHeaders(c), onClose: release, context }));
  }
  app.get('/v1/stream', serveMultiplexed);

  if (deps.media) mountMediaRoute(app, new Map([...profiles].map(([name, entry]) => [name, entry.relay])), security, deps.media, deps);

  /** A create waiting in the queue (see RouteKit.createInQueue). */
  async function createInQueue(
    c: Context,
    queue: AppQueue,
    openQueued: NonNullable<Subscriptions<Ctx>['openQueued']>,
    relay: AppRelay,
    create: () => Promise<CreateOutcome>,
    release: (() => void) | undefined,
    options: QueueCreateOptions | undefined,
  ): Promise<CreateOutcome | { kind: 'response'; response: Response }> {
    const left = new AbortController();
    c.req.raw.signal.addEventListener('abort', () => left.abort(), { once: true });
    const queued = queueCreate(queue.runner, create, left.signal);
    const first = await Promise.race([queued.outcome, queued.waiting.then(() => 'waiting' as const)]);
    if (first !== 'waiting') return first;
    if (!release || !options) return queued.outcome;
    const context: Ctx = c.env;
    const response = openQueued(queued, relay.profile.name, {
      heartbeatMs: queue.heartbeatMs,
      headers: security.cors.headersFor(c.req.header('Origin')),
      context,
      refusal: options.refusal,
      leave: () => left.abort(),
      onClose: release,
      logger,
      redact: deps.redact,
      ...(options.describe ? { describe: options.describe } : {}),
      ...(options.vendorFailure && relay.profile.dropInFrames
        ? { vendor: { style: relay.profile.dropInFrames, failure: options.vendorFailure } }
        : {}),
    });
    return { kind: 'response', response };
  }

  for (const entry of deps.profiles) {
    const name = entry.relay.profile.name;
    const relay = entry.relay;
    const queue = deps.queues?.get(name);
    const openQueued = subscriptions.openQueued?.bind(subscriptions);
    entry.routes?.(app, {
      relay: entry.relay,
      security,
      redact: deps.redact,
      limitBody,
      onError,
      withSlot,
      subscribe: (c, jobId, subscription) => subscribe(c, { profile: name, jobId }, subscription),
      requireJobAccess: (c, jobId) => requireJobAccess(security, c, { profile: name, jobId }),
      serveStream: (c, rawJobId, dropIn) => serveStream(c, name, rawJobId, dropIn),
      issueToken: (jobIds, ttlS) =>
        security.tokens.issue(
          jobIds.map((jobId) => qualifiedJobId({ profile: name, jobId })),
          ttlS,
        ),
      ...(queue && openQueued
        ? {
            createInQueue: (c: Context, create: () => Promise<CreateOutcome>, release?: () => void, options?: QueueCreateOptions) =>
              createInQueue(c, queue, openQueued, relay, create, release, options),
          }
        : {}),
    });
  }

  if (deps.publishing) mountPublishRoutes(app, deps.publishing, { security, limitBody });

  mountBrowserRoutes(app, { assets: deps.assets, security });

  app.notFound((c) => c.json({ error: 'no such route', code: 'not_found' }, 404));

  app.onError(onError());

  return app;
}
