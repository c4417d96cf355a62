import { type Context, Hono } from 'hono';
import { bearerToken } from '../http.ts';
import { rejectionMessage } from '../rejections.ts';
import { readCreateBody } from '../request-body.ts';
import { SSE_HEADERS } from '../sse-sink.ts';
import { parseReplicateScenario } from './directives.ts';
import { predictionObject } from './prediction.ts';
import type { ReplicateService } from './service.ts';
import type { ReplicateStatsRecorder } from './stats.ts';
import { openPredictionStream } from './stream.ts';

/** Dependencies of Replicate's routes. */
export interface ReplicateRoutesOptions {
  service: ReplicateService;
  stats: ReplicateStatsRecorder;
  /** If set, the only API token accepted. */
  token?: string | undefined;
  publicOrigin?: string | undefined;
  /** Where the API is mounted (`/replicate/v1`) and where prediction streams are (`/replicate/streaming/v1`). */
  basePath: string;
  streamPath: string;
  now: () => number;
}

type ReplicateEnv = { Variables: { token: string } };

/** Replicate's error shape: `{"detail"}`, with the `title` and `status` its newer answers carry. */
export function detailResponse(status: number, detail: string, title = 'Error', headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ title, detail, status }), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

/** Longest `Prefer: wait` hold, seconds (Replicate: 60). */
const MAX_WAIT_S = 60;

/** `Prefer: wait` (60 s) or `Prefer: wait=N` (1-60 s); undefined without it. */
export function preferredWaitS(header: string | undefined): number | undefined {
  const match = /(?:^|[,;\s])wait(?:=(\d+))?(?:$|[,;\s])/.exec(header ?? '');
  if (!match) return undefined;
  return match[1] === undefined ? MAX_WAIT_S : Math.min(MAX_WAIT_S, Math.max(1, Number(match[1])));
}

/**
 * Replicate's predictions API under `basePath` (Bearer token checked, every request recorded) and
 * the prediction streams under `streamPath`, which like Replicate's need no token.
 */
export function createReplicateRoutes(options: ReplicateRoutesOptions): Hono {
  const { service, stats, now } = options;
  const api = new Hono<ReplicateEnv>();
  api.use('*', async (c, next) => {
    stats.request(c.req.method, c.req.path, now());
    const sent = bearerToken(c.req.header('authorization'));
    if (!sent || (options.token !== undefined && sent !== options.token)) {
      return detailResponse(401, 'You did not pass a valid authentication token', 'Unauthenticated');
    }
    c.set('token', sent);
    await next();
  });

  const create = async (c: Context<ReplicateEnv>, model: string | undefined) => {
    stats.created();
    const parsed = await readCreateBody(c.req.raw);
    if (!parsed.ok) return detailResponse(400, parsed.error, 'Bad request');
    const { body } = parsed;
    const version = model === undefined ? body.version : undefined;
    if (model === undefined && (typeof version !== 'string' || version === '')) {
      return detailResponse(422, '- version: version is required', 'Input validation failed');
    }
    const input = body.input ?? {};
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return detailResponse(422, '- input: input must be an object', 'Input validation failed');
    }
    const prompt = (input as Record<string, unknown>).prompt;
    const directives = parseReplicateScenario(typeof prompt === 'string' ? prompt : undefined);
    if (!directives.ok) return detailResponse(422, `- input.prompt: ${directives.error}`, 'Input validation failed');
    const { scenario } = directives;
    if (scenario.status !== undefined) {
      const echoed = scenario.echoToken ? c.get('token') : undefined;
      const headers: Record<string, string> = scenario.status === 429 ? { 'Retry-After': '1' } : {};
      return detailResponse(scenario.status, rejectionMessage(scenario.status, echoed), 'Simulated rejection', headers);
    }
    const origin = options.publicOrigin ?? new URL(c.req.url).origin;
    const record = service.create({
      model: model ?? (version as string),
      version: model === undefined ? (version as string) : 'hidden',
      input: input as Record<string, unknown>,
      scenario,
      origin,
      ...(scenario.echoToken ? { echoedToken: c.get('token') } : {}),
    });
    const waitS = preferredWaitS(c.req.header('prefer'));
    if (waitS !== undefined) await service.settled(record, waitS * 1000, c.req.raw.signal);
    return c.json(service.view(record), 201);
  };

  api.post('/predictions', (c) => create(c, undefined));
  api.post('/models/:owner/:name/predictions', (c) => create(c, `${c.req.param('owner')}/${c.req.param('name')}`));
  api.get('/predictions', (c) => c.json({ previous: null, next: null, results: service.list().map((record) => service.view(record)) }));
  api.get('/predictions/:id', (c) => {
    const id = c.req.param('id');
    stats.polled(id);
    const record = service.find(id);
    return record ? c.json(service.view(record)) : detailResponse(404, 'Not found.', 'Not found');
  });
  api.post('/predictions/:id/cancel', (c) => {
    stats.cancelled();
    const record = service.find(c.req.param('id'));
    if (!record) return detailResponse(404, 'Not found.', 'Not found');
    record.run.cancel();
    return c.json(service.view(record));
  });
  api.all('*', () => detailResponse(404, 'Not found.', 'Not found'));

  const streams = new Hono();
  streams.get('/predictions/:id', (c) => {
    stats.request(c.req.method, c.req.path, now());
    const record = service.find(c.req.param('id'));
    if (!record?.streamUrl || predictionObject(record, now(), service.retentionOf(record)).data_removed) {
      return detailResponse(404, 'Not found.', 'Not found');
    }
    stats.streamOpened();
    const first = !record.streamed;
    record.streamed = true;
    const dropAfter = first ? record.scenario.dropAfter : undefined;
    const body = openPredictionStream({
      run: record.run,
      garbage: record.scenario.garbage,
      ...(dropAfter === undefined ? {} : { dropAfter }),
    });
    return new Response(body, { status: 200, headers: SSE_HEADERS });
  });

  const app = new Hono();
  app.route(options.basePath, api);
  app.route(options.streamPath, streams);
  return app;
}
