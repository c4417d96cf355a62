import type { Hono } from 'hono';
import { RelayError } from '../core/errors.ts';
import { configSecrets } from '../core/config.ts';
import { createRedactor } from '../core/redact.ts';
import { encodeComment, encodeRetry } from '../core/sse.ts';
import { createUpstreamClient } from '../core/upstream.ts';
import { type AppRelay, type OpenSubscription, createApp } from '../http/app.ts';
import { createSecurity } from '../http/security.ts';
import { loadWorkerConfig } from './config.ts';
import type { Env } from './env.ts';
import type { StartResult } from './job-starter.ts';
import { createConsoleLogger } from './logger.ts';
import { expiringSlots } from './slots.ts';
import { capStream } from './stream-cap.ts';

/** A slot outlives its stream's cap by this much before it is taken back. */
const SLOT_GRACE_MS = 1000;

/**
 * The Worker's front door: the shared app (`createApp`: same routes, access control, CORS and
 * limits as on Node), with a relay front whose jobs live in Durable Objects. A create goes
 * through a JobStarter; a job's events, snapshot and subscriptions come from its JobObject.
 */
export function createWorkerApp(env: Env): Hono {
  const config = loadWorkerConfig(env);
  const redact = createRedactor(configSecrets(config));
  const logger = createConsoleLogger(config.LOG_LEVEL, redact);
  const jobObject = (jobId: string) => env.JOBS.get(env.JOBS.idFromName(jobId));
  // Cloudflare sets CF-Connecting-IP itself; a client cannot forge it.
  const shared = createSecurity(config, { logger, clientIp: (c) => c.req.header('CF-Connecting-IP') });
  const security = { ...shared, subscribers: expiringSlots(shared.subscribers, config.MAX_STREAM_MS + SLOT_GRACE_MS) };

  const relay: AppRelay = {
    upstream: createUpstreamClient({ baseUrl: config.UPSTREAM_URL, token: config.UPSTREAM_TOKEN }, redact),
    // Durable Objects are the bus here: nothing separate to be unreachable.
    bus: { ping: async () => {} },
    async create(verb, body) {
      const starter = env.JOB_STARTERS.get(env.JOB_STARTERS.newUniqueId());
      // The RPC result type drops `unknown` (the reply's JSON body); it arrives structured-cloned.
      const started = (await starter.start(verb, body)) as StartResult;
      if (started.kind === 'failed') throw new RelayError('upstream_error', started.message);
      if (started.kind === 'job') logger.info({ jobId: started.jobId, verb }, 'job created');
      return started;
    },
    snapshot: (jobId) => jobObject(jobId).snapshot(jobId),
    waitForSnapshot: (jobId, timeoutMs) => jobObject(jobId).createdJob(jobId, timeoutMs),
  };

  const tail = [encodeComment('stream time limit reached, reconnect to resume'), encodeRetry(config.RETRY_MS)];
  const openSubscription: OpenSubscription = async (jobId, since, { headers, onClose }) => {
    const url = `https://job.internal/subscribe?job=${encodeURIComponent(jobId)}&since=${since}`;
    let response: Response;
    try {
      response = await jobObject(jobId).fetch(url);
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
    return new Response(capStream(response.body, config.MAX_STREAM_MS, tail, onClose), { status: 200, headers: merged });
  };

  return createApp({ relay, openSubscription, logger, redact, security, retryMs: config.RETRY_MS, maxBodyBytes: config.MAX_BODY_BYTES });
}
