/**
 * fal's queue at `/fal/queue` as at `https://queue.fal.run`, and fal's proxy convention at
 * `/fal/proxy` (`x-fal-target-url`, as `@fal-ai/client`'s `proxyUrl` sends it). The key is added
 * server-side; errors come in fal's shape, `{"detail": …}`.
 */
import { type Context, Hono } from 'hono';
import { RelayError } from '../../core/errors.ts';
import { isRecord } from '../../core/ingest/event.ts';
import type { UpstreamReply } from '../../core/profile.ts';
import type { AppProfile, AppRelay, RouteKit } from '../../http/app.ts';
import type { ErrorShape } from '../../http/error-response.ts';
import { requireApiKey } from '../../http/auth.ts';
import { wantsQueue } from '../../http/queued-create.ts';
import { parseJsonObject } from '../../http/validate.ts';
import { cancelRequest, falQueue, requestPath, storedResult, withQueueUrls } from './profile.ts';
import { FAL_QUEUE_HOST, type FalQueueCall, allowedTarget, parseQueueCall } from './paths.ts';

/** Where fal's queue paths are mounted. */
export const FAL_QUEUE_BASE = '/fal/queue';
/** fal's proxy convention: the target in `x-fal-target-url`. */
export const FAL_PROXY_PATH = '/fal/proxy';

const streamPath = (jobId: string) => `${FAL_QUEUE_BASE}${requestPath(jobId)}/status/stream`;

/** The profile as the app serves it: its relay, the drop-in routes, its stream URL. */
export function falApp(relay: AppRelay): AppProfile {
  return { relay, routes: mountFalRoutes, streamPath };
}

function mountFalRoutes(app: Hono, kit: RouteKit): void {
  const fal = new Hono();
  fal.onError(kit.onError(falErrors));
  const fromPath = (c: Context) => serveCall(c, kit, c.req.path.slice(FAL_QUEUE_BASE.length), new URL(c.req.url).searchParams);
  fal.all('/queue/*', kit.limitBody, fromPath);
  fal.all('/proxy', kit.limitBody, (c) => {
    const target = allowedTarget(c.req.header('x-fal-target-url'));
    if (target.hostname !== FAL_QUEUE_HOST) return forward(c, kit, target);
    return serveCall(c, kit, target.pathname, target.searchParams);
  });
  app.route('/fal', fal);
}

/** One queue call, from its path below the queue host and its query. */
async function serveCall(c: Context, kit: RouteKit, path: string, query: URLSearchParams): Promise<Response> {
  const call = parseQueueCall(c.req.method, path);
  if (!call) throw new RelayError('not_found', 'Not Found');
  const base = `${new URL(c.req.url).origin}${FAL_QUEUE_BASE}`;
  if (call.kind === 'submit') return submit(c, kit, call.endpoint, base);
  if (call.kind === 'cancel') {
    await requireApiKey(kit.security, c);
    return passThrough(await kit.relay.upstream.send(cancelRequest(call.jobId)), call);
  }
  await kit.requireJobAccess(c, call.jobId);
  if (call.kind === 'stream') return kit.serveStream(c, call.jobId, true);
  if (call.kind === 'status') return status(kit, call, base, query);
  return result(kit, call);
}

const FORWARDED_METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'DELETE']);

/**
 * An allowed target outside the queue (`fal.run`, storage upload): sent with the gateway's key and
 * the caller's JSON body, the answer passed back (redacted). Only API-key holders may spend the key.
 */
async function forward(c: Context, kit: RouteKit, target: URL): Promise<Response> {
  const keyId = await requireApiKey(kit.security, c);
  const method = c.req.method;
  if (!FORWARDED_METHODS.has(method)) throw new RelayError('bad_request', `Invalid request: method ${method} is not relayed`);
  if (method !== 'GET') kit.security.createRate.take(keyId ?? `ip:${kit.security.clientIp(c)}`);
  const text = method === 'GET' ? '' : await c.req.text();
  const request = {
    method: method as 'GET' | 'POST' | 'PUT' | 'DELETE',
    origin: target.origin,
    path: `${target.pathname}${target.search}`,
    ...(text.trim() === '' ? {} : { body: parseJsonObject(text, false) }),
  };
  return passThrough(await kit.relay.upstream.send(request));
}

/**
 * Submit: the job starts and is followed whoever asks; the answer's URLs name the gateway, with a
 * subscribe token. With `X-Queue: true` it waits for upstream capacity (fal's 429) first.
 */
async function submit(c: Context, kit: RouteKit, endpoint: string, base: string): Promise<Response> {
  const { relay, security } = kit;
  const keyId = await requireApiKey(security, c);
  const queued = kit.createInQueue !== undefined && wantsQueue(c.req.header('X-Queue'));
  security.createRate.take(keyId ?? `ip:${security.clientIp(c)}`);
  const input = parseJsonObject(await c.req.text(), false);
  const start = () => relay.create(endpoint, input);
  // A submit answers JSON, never a stream: a queued one holds the request until the job starts.
  const outcome = queued && kit.createInQueue ? await kit.createInQueue(c, start) : await start();
  if (outcome.kind === 'response') return outcome.response;
  if (outcome.kind === 'reply') return passThrough(outcome.reply);
  const { token } = await kit.issueToken([outcome.jobId]);
  const answer = isRecord(outcome.reply?.body) ? outcome.reply.body : {};
  const requestId = String(answer.request_id);
  const body = {
    ...withQueueUrls(answer, base, outcome.jobId),
    subscribe_token: token,
    stream_url: `${streamPath(outcome.jobId)}?token=${encodeURIComponent(token)}`,
  };
  return Response.json(body, { status: 200, headers: { 'x-fal-request-id': requestId } });
}

/**
 * The latest status from the job's history (202 until `COMPLETED`, then 200), with every log line so far
 * (the stored status keeps them, see KEPT_LOG_LINES); the vendor's answer for a job not seen yet.
 */
async function status(kit: RouteKit, call: Extract<FalQueueCall, { jobId: string }>, base: string, query: URLSearchParams) {
  let job = await kit.relay.snapshot(call.jobId);
  if (!job) {
    const reply = await kit.relay.upstream.send(falQueue.pollRequest(call.jobId));
    if ((reply.status !== 200 && reply.status !== 202) || !isRecord(reply.body)) return passThrough(reply, call);
    job = reply.body;
  }
  const { result: _result, ...status } = job;
  const logs = query.get('logs') === '1' || query.get('logs') === 'true';
  if ('logs' in status || logs) status.logs = logs && Array.isArray(status.logs) ? status.logs : [];
  return Response.json(withQueueUrls(status, base, call.jobId), {
    status: status.status === 'COMPLETED' ? 200 : 202,
    headers: { 'x-fal-request-id': call.requestId },
  });
}

/** The result kept with the history (after the vendor dropped it, too); the vendor's answer for a job not in it. */
async function result(kit: RouteKit, call: Extract<FalQueueCall, { jobId: string }>): Promise<Response> {
  const job = await kit.relay.snapshot(call.jobId);
  const stored = job ? storedResult(job) : undefined;
  const headers = { 'x-fal-request-id': call.requestId };
  if (stored) return Response.json(stored.body, { status: stored.status, headers });
  if (job && job.status !== 'COMPLETED') return Response.json({ detail: 'Request is still in progress' }, { status: 400, headers });
  // Ended by the gateway (its deadline, or fal lost it): no result to ask for. A 500, which the client does not retry (a 504 it would).
  if (job?.error_type === 'relay_gave_up')
    return Response.json({ detail: job.error, error_type: job.error_type }, { status: 500, headers });
  return passThrough(await kit.relay.upstream.send(falQueue.resultRequest(call.jobId)), call);
}

/**
 * A vendor answer as the caller sees it (already redacted): fal's own status and body, except a
 * refusal of the gateway's key (401, 403), which is the gateway's failure, not the caller's.
 */
function passThrough(reply: UpstreamReply, call?: { requestId: string }): Response {
  if (reply.status === 401 || reply.status === 403) throw new RelayError('upstream_error', 'upstream refused the gateway credential');
  if (reply.status >= 500 && !isRecord(reply.body)) throw new RelayError('upstream_error', `upstream answered ${reply.status}`);
  const headers: Record<string, string> = call ? { 'x-fal-request-id': call.requestId } : {};
  return Response.json(reply.body, { status: reply.status, headers });
}

/** The gateway's errors on these paths in fal's shape: `{"detail": "..."}` (RelayError messages never carry a secret). */
const falErrors: ErrorShape = { body: (err) => ({ detail: err.message, code: err.code }), authScheme: 'Key' };
