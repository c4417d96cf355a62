import type { Hono } from 'hono';
import { type JobRef, qualifiedJobId } from '../core/auth/job-ref.ts';
import { RelayError } from '../core/errors.ts';
import type { UpstreamProfile } from '../core/profile.ts';
import { type AppProfile, type AppRelay, createApp } from '../http/app.ts';
import { type PublishedFront, appPublishing } from '../http/publish-routes.ts';
import { createSecurity } from '../http/security.ts';
import type { Subscriptions } from '../http/subscriptions.ts';
import { PROFILES } from '../profiles/index.ts';
import type { Env } from './env.ts';
import type { StartResult } from './job-starter.ts';
import { MAX_QUEUED_BYTES, streamLimitTail } from './job-runtime.ts';
import { fanInMultiplexed } from './multiplex.ts';
import { workerMedia } from './media-hop.ts';
import { workerRecipe } from './recipe.ts';
import { expiringSlots } from './slots.ts';
import { capStream } from './stream-cap.ts';

/**
 * The job's object cuts every stream at MAX_STREAM_MS; the front's backstop cuts it this much
 * later (should the object never end it), and a slot is taken back as much later again.
 */
const BACKSTOP_MS = 1000;

/**
 * The Worker's front door: the shared app (`createApp`: same routes, access control, CORS and
 * limits as on Node), with a relay front whose jobs live in Durable Objects. A create goes
 * through a JobStarter; a job's events, snapshot and subscriptions come from its JobObject.
 */
export function createWorkerApp(env: Env): Hono {
  const recipe = workerRecipe(env);
  const { config, redact, logger } = recipe;
  const jobObject = (job: JobRef) => env.JOBS.get(env.JOBS.idFromName(qualifiedJobId(job)));
  const profiles = PROFILES.map((entry) => entry.profile.name);
  // Cloudflare sets CF-Connecting-IP itself; a client cannot forge it.
  const shared = createSecurity(config, { logger, profiles, clientIp: (c) => c.req.header('CF-Connecting-IP') });
  const security = { ...shared, subscribers: expiringSlots(shared.subscribers, config.MAX_STREAM_MS + 2 * BACKSTOP_MS) };

  /** One profile's relay front: creates go through a JobStarter, everything else to the job's object. */
  const front = (profile: UpstreamProfile): AppRelay => ({
    profile,
    upstream: recipe.upstream(profile),
    async create(kind, body) {
      const starter = env.JOB_STARTERS.get(env.JOB_STARTERS.newUniqueId());
      // The RPC result type drops `unknown` (the reply's JSON body); it arrives structured-cloned.
      const started = (await starter.start(profile.name, kind, body)) as StartResult;
      if (started.kind === 'failed') throw new RelayError(started.code, started.message);
      if (started.kind === 'job') logger.info({ jobId: started.jobId, profile: profile.name, kind }, 'job created');
      return started;
    },
    snapshot: (jobId) => jobObject({ profile: profile.name, jobId }).snapshot(profile.name, jobId),
    history: (jobId) => jobObject({ profile: profile.name, jobId }).history(profile.name, jobId),
    waitForSnapshot: (jobId, timeoutMs) => jobObject({ profile: profile.name, jobId }).createdJob(profile.name, jobId, timeoutMs),
    // No signal over RPC: a caller that leaves lets the object's wait run out at the job's end, its timeout or deadline.
    waitForEnd: (jobId, options) => jobObject({ profile: profile.name, jobId }).finalJob(profile.name, jobId, options?.timeoutMs),
  });
  // Only the profiles whose vendor is configured are served (the Worker has no simulator).
  const served = PROFILES.filter((entry) => entry.endpoint(config) !== undefined);
  const apps: AppProfile[] = served.map((entry) => entry.app(front(entry.profile)));

  /** A publisher namespace's front: each publish and read goes to the job's object, which stores it in one step. */
  const publishedFront = (namespace: string): PublishedFront => ({
    async publish(jobId, events) {
      const reply = await jobObject({ profile: namespace, jobId }).publish(namespace, jobId, [...events]);
      if (reply.kind === 'failed') throw new RelayError(reply.code, reply.message);
      return reply.result;
    },
    latest: (jobId) => jobObject({ profile: namespace, jobId }).latest(namespace, jobId),
  });
  const namespaces = [...new Set(config.PUBLISHERS.map((entry) => entry.namespace))];
  const publishing = appPublishing(config, new Map(namespaces.map((namespace) => [namespace, publishedFront(namespace)])));

  const tail = streamLimitTail(config.RETRY_MS);
  /** The job's stream from its object (`mode`: `{dropin: '1'}`, `{mux: '1'}`, or the uniform one). */
  const objectStream = (job: JobRef, since: number, mode: Record<string, string> = {}) => {
    const query = new URLSearchParams({ profile: job.profile, job: job.jobId, since: String(since), ...mode });
    return jobObject(job).fetch(`https://job.internal/subscribe?${query}`);
  };

  /** A stream as the front serves it: the app's headers added, and the backstop (`tail`, else errored) freeing the slot however it ends. */
  async function frontStream(
    opened: () => Promise<Response>,
    headers: Record<string, string>,
    onClose: () => void,
    cutTail?: readonly Uint8Array[],
  ): Promise<Response> {
    let response: Response;
    try {
      response = await opened();
    } catch (err) {
      onClose();
      throw err;
    }
    const merged = new Headers(response.headers);
    for (const [name, value] of Object.entries(headers)) merged.set(name, value);
    if (!response.body || response.status !== 200) {
      onClose();
      return new Response(response.body, { status: response.status, headers: merged });
    }
    const capped = capStream(response.body, config.MAX_STREAM_MS + BACKSTOP_MS, { ...(cutTail ? { tail: cutTail } : {}), onEnd: onClose });
    return new Response(capped, { status: 200, headers: merged });
  }

  /** Every job's stream comes from its object, where its hub lives; the front adds the headers and the backstop. */
  const subscriptions: Subscriptions<Env> = {
    // A drop-in stream is never closed cleanly before its end: no tail, errored instead.
    open: (job, since, { headers, onClose, dropIn }) =>
      frontStream(() => objectStream(job, since, dropIn ? { dropin: '1' } : {}), headers, onClose, dropIn ? undefined : tail),
    // Several jobs: the front merges each one's stream from its object (src/worker/multiplex.ts).
    openMultiplexed: (jobs, { headers, onClose }) =>
      frontStream(
        () =>
          fanInMultiplexed(jobs, {
            open: (job, since) => objectStream(job, since, { mux: '1' }),
            retryMs: config.RETRY_MS,
            maxQueuedBytes: MAX_QUEUED_BYTES,
            tail,
          }),
        headers,
        onClose,
        tail,
      ),
  };

  return createApp<Env>({
    profiles: apps,
    // Durable Objects are the bus here: nothing separate to be unreachable.
    bus: { ping: async () => {} },
    subscriptions,
    logger,
    redact,
    security,
    maxBodyBytes: config.MAX_BODY_BYTES,
    ...(namespaces.length > 0 ? { publishing } : {}),
    media: workerMedia(config, served),
  });
}
