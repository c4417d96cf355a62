/** The Midjourney v3 drop-in paths under `/v3/midjourney`: the vendor's API, the token added server-side. */
import type { Context, Hono } from 'hono';
import { RelayError } from '../../core/errors.ts';
import type { UpstreamReply, UpstreamRequest } from '../../core/profile.ts';
import type { AppProfile, AppRelay, RouteKit } from '../../http/app.ts';
import { requireApiKey } from '../../http/auth.ts';
import { wantsQueue } from '../../http/queued-create.ts';
import { checkJobId } from '../../http/validate.ts';
import { cancelRequest, listRequest, midjourneyV3 } from './profile.ts';
import { checkCreateLimits, checkVerb, parseCreateBody } from './request.ts';

/** Where the vendor's paths are mounted. */
export const MIDJOURNEY_BASE = '/v3/midjourney';

const streamPath = (jobId: string) => `${MIDJOURNEY_BASE}/jobs/${encodeURIComponent(jobId)}/stream`;
/** The stream URL's route: the job's uniform stream (kit.serveStream, uniform frames) under the vendor's path. */
const STREAM_ROUTE = `${MIDJOURNEY_BASE}/jobs/:jobid/stream`;

/** The profile as the app serves it: its relay, the drop-in routes, its stream URL. */
export function midjourneyApp(relay: AppRelay): AppProfile {
  return { relay, routes: mountMidjourneyRoutes, streamPath, streamRoutes: [STREAM_ROUTE] };
}

function mountMidjourneyRoutes(app: Hono, kit: RouteKit): void {
  const { relay, security } = kit;
  const base = MIDJOURNEY_BASE;
  const send = (request: UpstreamRequest) => relay.upstream.send(request);

  app.post(`${base}/jobs/:verb`, kit.limitBody, async (c) => {
    const keyId = await requireApiKey(security, c);
    const verb = checkVerb(c.req.param('verb'));
    security.createRate.take(keyId ?? `ip:${security.clientIp(c)}`);
    const parsed = parseCreateBody(await c.req.text());
    const body = checkCreateLimits(verb, parsed.body, security);
    const queued = kit.createInQueue !== undefined && wantsQueue(c.req.header('X-Queue'));
    // A streaming create takes its subscriber slot first: a full instance starts no job.
    if (parsed.stream) return kit.withSlot(c, (release) => create(c, verb, body, release, queued));
    return create(c, verb, body, undefined, queued);
  });

  /** Starts the job (through the create queue when asked); streams it when given a subscriber slot, else answers 201 with the job. */
  async function create(
    c: Context,
    verb: string,
    body: Record<string, unknown>,
    release: (() => void) | undefined,
    queued = false,
  ): Promise<Response> {
    const start = () => relay.create(verb, body);
    const outcome =
      queued && kit.createInQueue
        ? await kit.createInQueue(c, start, release, {
            refusal: (reply) => upstreamFailure(reply, kit.redact),
            async describe(jobId) {
              const { token } = await kit.issueToken([jobId]);
              return { jobid: jobId, subscribe_token: token, stream_url: `${streamPath(jobId)}?token=${encodeURIComponent(token)}` };
            },
          })
        : await start();
    if (outcome.kind === 'response') return outcome.response;
    if (outcome.kind === 'reply') {
      const { status, body: replyBody } = outcome.reply;
      if (status >= 400) throw upstreamFailure(outcome.reply, kit.redact);
      return c.json(replyBody as object, status as 200);
    }
    const issued = kit.issueToken([outcome.jobId]);
    if (release) {
      const { token } = await issued;
      return kit.subscribe(c, outcome.jobId, { release, headers: { 'X-Job-Id': outcome.jobId, 'X-Subscribe-Token': token } });
    }
    const job = (await relay.waitForSnapshot(outcome.jobId, 10_000)) ?? { jobid: outcome.jobId, verb, status: 'created' };
    const { token } = await issued;
    const headers = { 'X-Job-Id': outcome.jobId, 'X-Subscribe-Token': token };
    const stream_url = `${streamPath(outcome.jobId)}?token=${encodeURIComponent(token)}`;
    return c.json({ ...job, subscribe_token: token, stream_url }, 201, headers);
  }

  app.get(STREAM_ROUTE, (c) => kit.serveStream(c, c.req.param('jobid')));

  app.get(`${base}/jobs/:jobid`, async (c) => {
    const jobId = checkJobId(c.req.param('jobid'));
    await kit.requireJobAccess(c, jobId);
    const job = await relay.snapshot(jobId);
    if (job) return c.json(job);
    return passThrough(await send(midjourneyV3.pollRequest(jobId)), kit.redact);
  });

  app.get(`${base}/jobs`, async (c) => {
    await requireApiKey(security, c);
    return passThrough(await send(listRequest()), kit.redact);
  });

  app.delete(`${base}/jobs/:jobid`, async (c) => {
    await requireApiKey(security, c);
    const jobId = checkJobId(c.req.param('jobid'));
    return passThrough(await send(cancelRequest(jobId)), kit.redact);
  });
}

/** The vendor's `{"error": "..."}` message from a reply body, if it has one. */
export function upstreamErrorMessage(body: unknown): string | undefined {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = (body as { error: unknown }).error;
    if (typeof error === 'string') return error;
  }
  return undefined;
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
