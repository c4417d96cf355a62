/**
 * Replicate's predictions API at `/replicate/v1`, where the official client's `baseUrl` points: creates
 * (by version or by model, `Prefer: wait` honoured), get, cancel and each prediction's stream, the
 * token added server-side. Answers name the gateway in `urls` (the stream with a subscribe token,
 * as Replicate's own stream URL needs no key); errors come in Replicate's shape, `{"detail": …}`.
 */
import { type Context, Hono } from 'hono';
import { RelayError } from '../../core/errors.ts';
import { isRecord } from '../../core/ingest/event.ts';
import type { UpstreamReply } from '../../core/profile.ts';
import type { AppProfile, AppRelay, RouteKit } from '../../http/app.ts';
import { requireApiKey } from '../../http/auth.ts';
import type { ErrorShape } from '../../http/error-response.ts';
import { wantsQueue } from '../../http/queued-create.ts';
import { checkJobId, parseJsonObject } from '../../http/validate.ts';
import { BY_VERSION, cancelRequest, replicate } from './profile.ts';

/** Where the vendor's paths are mounted: a client's `baseUrl` is `<gateway>/replicate/v1`. */
export const REPLICATE_BASE = '/replicate/v1';

const predictionPath = (id: string) => `${REPLICATE_BASE}/predictions/${encodeURIComponent(id)}`;
/** A prediction's drop-in stream: its `urls.stream`, with a subscribe token in the query. */
const streamPath = (id: string) => `${predictionPath(id)}/stream`;

/** The profile as the app serves it: its relay, the drop-in routes, its stream URL. */
export function replicateApp(relay: AppRelay): AppProfile {
  return { relay, routes: mountReplicateRoutes, streamPath };
}

/** Longest `Prefer: wait` hold, seconds (Replicate's). */
const MAX_WAIT_S = 60;

/** `Prefer: wait` (60 s) or `Prefer: wait=N` (1-60 s, as the client sends it); undefined without it. */
export function preferredWaitS(header: string | undefined): number | undefined {
  const match = /(?:^|[,;\s])wait(?:=(\d{1,9}))?(?=$|[,;\s])/.exec(header ?? '');
  if (!match) return undefined;
  return match[1] === undefined ? MAX_WAIT_S : Math.min(MAX_WAIT_S, Math.max(1, Number(match[1])));
}

/** A model's path segment: what Replicate's owners and names allow. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function mountReplicateRoutes(app: Hono, kit: RouteKit): void {
  const { relay } = kit;
  const api = new Hono();
  api.onError(kit.onError(replicateErrors));

  api.post('/predictions', kit.limitBody, (c) => create(c, kit, BY_VERSION));
  api.post('/models/:owner/:name/predictions', kit.limitBody, (c) => {
    const owner = c.req.param('owner');
    const name = c.req.param('name');
    if (!SEGMENT.test(owner) || !SEGMENT.test(name)) throw new RelayError('bad_request', 'Invalid model: expected <owner>/<name>');
    return create(c, kit, `models/${owner}/${name}`);
  });

  api.get('/predictions/:id', async (c) => {
    const id = checkJobId(c.req.param('id'));
    await kit.requireJobAccess(c, id);
    const stored = await relay.snapshot(id);
    if (stored) return c.json(await atGateway(kit, c, stored, id));
    return passThrough(kit, c, await relay.upstream.send(replicate.pollRequest(id)), id);
  });

  api.post('/predictions/:id/cancel', async (c) => {
    await requireApiKey(kit.security, c);
    const id = checkJobId(c.req.param('id'));
    return passThrough(kit, c, await relay.upstream.send(cancelRequest(id)), id);
  });

  api.get('/predictions/:id/stream', (c) => kit.serveStream(c, c.req.param('id'), true));

  api.all('*', (c) => {
    throw new RelayError('not_found', `Not found: ${c.req.method} ${c.req.path}`);
  });

  app.route(REPLICATE_BASE, api);
}

/**
 * A create: the prediction starts upstream and is followed whoever watches; the answer is the
 * vendor's, or with `Prefer: wait` the prediction once it ended (or as it stands when the wait is
 * over), its URLs at the gateway. With `X-Queue: true` it waits for upstream capacity (429) first.
 */
async function create(c: Context, kit: RouteKit, kind: string): Promise<Response> {
  const { relay, security } = kit;
  const keyId = await requireApiKey(security, c);
  security.createRate.take(keyId ?? `ip:${security.clientIp(c)}`);
  const body = parseCreateBody(await c.req.text(), kind === BY_VERSION);
  const waitS = preferredWaitS(c.req.header('Prefer'));
  const queued = kit.createInQueue !== undefined && wantsQueue(c.req.header('X-Queue'));
  const start = () => relay.create(kind, body);
  const outcome = queued && kit.createInQueue ? await kit.createInQueue(c, start) : await start();
  if (outcome.kind === 'response') return outcome.response;
  if (outcome.kind === 'reply') return passThrough(kit, c, outcome.reply);
  const id = outcome.jobId;
  const created = isRecord(outcome.reply?.body) ? outcome.reply.body : { id, status: 'starting' };
  if (waitS === undefined) return c.json(await atGateway(kit, c, created, id), 201);
  // Held like Replicate's blocking create, in a subscriber slot (it holds a connection).
  return kit.withSlot(c, async (release) => {
    try {
      const ended = await relay.waitForEnd(id, { timeoutMs: waitS * 1000, signal: c.req.raw.signal }).catch(() => null);
      return c.json(await atGateway(kit, c, ended ?? created, id), 201);
    } finally {
      release();
    }
  });
}

/** A create's body: a JSON object, with `version` (a create by version) and `input` an object. */
export function parseCreateBody(text: string, byVersion: boolean): Record<string, unknown> {
  const body = parseJsonObject(text, false);
  if (byVersion && (typeof body.version !== 'string' || body.version === '')) {
    throw new RelayError('bad_request', 'Invalid request: version is required (a string)');
  }
  if (body.input !== undefined && !isRecord(body.input)) throw new RelayError('bad_request', 'Invalid request: input must be an object');
  return body;
}

/** A prediction with its URLs at the gateway: get and cancel there, the stream with a subscribe token for it. */
async function atGateway(kit: RouteKit, c: Context, prediction: Record<string, unknown>, id: string): Promise<Record<string, unknown>> {
  const origin = new URL(c.req.url).origin;
  const { token } = await kit.issueToken([id]);
  const urls = isRecord(prediction.urls) ? prediction.urls : {};
  const get = `${origin}${predictionPath(id)}`;
  return {
    ...prediction,
    urls: { ...urls, get, cancel: `${get}/cancel`, stream: `${origin}${streamPath(id)}?token=${encodeURIComponent(token)}` },
  };
}

/**
 * A vendor answer as the caller sees it (already redacted): Replicate's status and body, a prediction's
 * URLs at the gateway; a refusal of the gateway's token (401, 403) is the gateway's failure, not the caller's.
 */
async function passThrough(kit: RouteKit, c: Context, reply: UpstreamReply, id?: string): Promise<Response> {
  if (reply.status === 401 || reply.status === 403) throw new RelayError('upstream_error', 'upstream refused the gateway credential');
  if (reply.status >= 500 && !isRecord(reply.body)) throw new RelayError('upstream_error', `upstream answered ${reply.status}`);
  const { body } = reply;
  const named = id ?? (isRecord(body) && typeof body.id === 'string' ? body.id : undefined);
  const ok = reply.status >= 200 && reply.status < 300 && isRecord(body) && named !== undefined;
  const answer = ok ? await atGateway(kit, c, body as Record<string, unknown>, named) : body;
  const headers: Record<string, string> = reply.status === 429 ? { 'Retry-After': '1' } : {};
  return Response.json(answer, { status: reply.status, headers });
}

/** The gateway's errors on these paths in Replicate's shape, `{"detail"}` with its `status` (RelayError messages never carry a secret). */
const replicateErrors: ErrorShape = {
  body: (err) => ({ detail: err.message, status: err.status, code: err.code }),
  authScheme: 'Bearer',
};
