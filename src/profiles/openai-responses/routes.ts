/**
 * The OpenAI Responses drop-in paths under `/openai/v1`, where the official SDK's `baseURL` points:
 * the vendor's API with its framing and error shape, the vendor key added server-side.
 */
import { type Context, Hono } from 'hono';
import { RelayError } from '../../core/errors.ts';
import { isRecord } from '../../core/ingest/event.ts';
import type { UpstreamReply, UpstreamRequest } from '../../core/profile.ts';
import { SSE_HEADERS } from '../../core/fanout/sse.ts';
import type { AppProfile, AppRelay, RouteKit } from '../../http/app.ts';
import { requireApiKey } from '../../http/auth.ts';
import { heldJsonBody } from '../../http/held-json.ts';
import { wantsQueue } from '../../http/queued-create.ts';
import { resumePoint } from '../../http/subscription-response.ts';
import { checkJobId, parseJsonObject } from '../../http/validate.ts';
import { errorEventData, openaiErrors, upstreamFailure } from './errors.ts';
import { OPENAI_KIND, cancelRequest, deleteRequest, openaiResponses } from './profile.ts';

/** Where the vendor's paths are mounted: an SDK's `baseURL` is `<gateway>/openai/v1`. */
export const OPENAI_BASE = '/openai/v1';

/** A response's drop-in stream (the SDK's `responses.retrieve(id, {stream:true})`). */
const streamPath = (id: string) => `${OPENAI_BASE}/responses/${encodeURIComponent(id)}?stream=true`;

/** The profile as the app serves it: its relay, the drop-in routes, its stream URL. */
export function openaiApp(relay: AppRelay): AppProfile {
  return { relay, routes: mountOpenAIRoutes, streamPath };
}

/** How often a blocking create's held answer sends a newline: well inside Node fetch's five-minute body timeout. */
const HELD_HEARTBEAT_MS = 15_000;

/** Marks an answer the SDK must not retry: the upstream may already have accepted (and billed) the job. */
const NO_RETRY = 'x-should-retry';

function mountOpenAIRoutes(app: Hono, kit: RouteKit): void {
  const { relay, security } = kit;
  const send = (request: UpstreamRequest) => relay.upstream.send(request);
  const api = new Hono();

  api.post('/responses', kit.limitBody, async (c) => {
    c.header(NO_RETRY, 'false');
    const keyId = await requireApiKey(security, c);
    security.createRate.take(keyId ?? `ip:${security.clientIp(c)}`);
    const request = parseCreateBody(await c.req.text());
    const queued = kit.createInQueue !== undefined && wantsQueue(c.req.header('X-Queue'));
    // A streaming or blocking create takes its subscriber slot first (it holds a connection): a full instance starts no job.
    if (request.stream || !request.background) return kit.withSlot(c, (release) => create(c, request, release, queued));
    return create(c, request, undefined, queued);
  });

  /**
   * Starts the response upstream (through the create queue when `queued`); streams it in the
   * vendor's framing, or answers its object: at once for a background create (`queued`), once it
   * is over otherwise (as the vendor's blocking create does, the headers sent at once; the object
   * still says `background: true`, as it is one upstream). `release` frees the slot of a streaming
   * or blocking create once its answer is done.
   */
  async function create(c: Context, request: CreateBody, release: (() => void) | undefined, queued: boolean): Promise<Response> {
    const streamSlot = request.stream ? release : undefined;
    const start = () => relay.create(OPENAI_KIND, request.body);
    // Through the create queue when asked: a stream that must wait shows only `:` comments, then the vendor's events.
    const outcome =
      queued && kit.createInQueue
        ? await kit.createInQueue(c, start, streamSlot, {
            refusal: (reply) => upstreamFailure(reply, kit.redact),
            vendorFailure: errorEventData,
          })
        : await start();
    if (outcome.kind === 'response') return outcome.response;
    if (outcome.kind === 'reply') throw upstreamFailure(outcome.reply, kit.redact);
    const id = outcome.jobId;
    const { token } = await kit.issueToken([id]);
    const headers = { 'X-Job-Id': id, 'X-Subscribe-Token': token, [NO_RETRY]: 'false' };
    if (streamSlot) return kit.subscribe(c, id, { release: streamSlot, headers, dropIn: true });
    const created = { id, object: 'response', status: 'queued', background: true, output: [] };
    if (request.background) return c.json((await relay.waitForSnapshot(id, 10_000)) ?? created, 200, headers);
    // The blocking create: headers now, the final object when the response is over (or the latest one, should the wait end first).
    const final = relay
      .waitForEnd(id, { signal: c.req.raw.signal })
      .catch(() => relay.snapshot(id))
      .catch(() => null)
      .finally(() => release?.());
    const body = heldJsonBody(
      final.then((job) => job ?? created),
      HELD_HEARTBEAT_MS,
    );
    return c.body(body, 200, { ...headers, 'Content-Type': 'application/json' });
  }

  api.get('/responses/:id', async (c) => {
    const id = checkJobId(c.req.param('id'));
    await kit.requireJobAccess(c, id);
    if (c.req.query('stream') === 'true') {
      const since = startingAfter(c.req.query('starting_after'));
      if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
      return kit.withSlot(c, (release) => kit.subscribe(c, id, { since, release, dropIn: true }));
    }
    const job = await relay.snapshot(id);
    if (job) return c.json(job);
    return passThrough(await send(openaiResponses.pollRequest(id)), kit.redact);
  });

  api.post('/responses/:id/cancel', async (c) => {
    await requireApiKey(security, c);
    const id = checkJobId(c.req.param('id'));
    return passThrough(await send(cancelRequest(id)), kit.redact);
  });

  api.delete('/responses/:id', async (c) => {
    await requireApiKey(security, c);
    const id = checkJobId(c.req.param('id'));
    return passThrough(await send(deleteRequest(id)), kit.redact);
  });

  api.all('*', (c) => {
    throw new RelayError('not_found', `Invalid URL (${c.req.method} ${c.req.path})`);
  });

  // Errors here in the vendor's shape (the SDK reads them); a create's always with x-should-retry: false.
  api.onError(kit.onError(openaiErrors(NO_RETRY)));

  app.route(OPENAI_BASE, api);
}

/** A create as the caller asked it: the body for the upstream, and the caller's `stream` and `background` (the answer's shape, not the upstream's). */
export interface CreateBody {
  body: Record<string, unknown>;
  stream: boolean;
  background: boolean;
}

/** A create body: a JSON object; `stream` and `background` booleans or null if present (the upstream always gets both on, and `store`). */
export function parseCreateBody(text: string): CreateBody {
  const body = parseJsonObject(text, false);
  for (const field of ['stream', 'background'] as const) {
    if (body[field] !== undefined && body[field] !== null && typeof body[field] !== 'boolean')
      throw new RelayError('bad_request', `Invalid type for '${field}': expected a boolean.`);
  }
  const { stream, background, store: _store, ...rest } = body;
  return { body: rest, stream: stream === true, background: background === true };
}

/** `starting_after`: absent means a replay from event 0 (the SDK's `responses.stream({response_id})` needs it). */
function startingAfter(raw: string | undefined): number {
  if (raw === undefined || raw === '') return -1;
  if (!/^\d{1,16}$/.test(raw)) throw new RelayError('bad_request', "Invalid 'starting_after': expected a non-negative integer.");
  return resumePoint(undefined, raw);
}

/** An upstream success forwarded as is (it was redacted when read); a failure in the vendor's shape or ours. */
function passThrough(reply: UpstreamReply, redact: (text: string) => string): Response {
  if (reply.status >= 400 || reply.status < 200) throw upstreamFailure(reply, redact);
  return Response.json(isRecord(reply.body) || Array.isArray(reply.body) ? reply.body : {}, { status: reply.status });
}
