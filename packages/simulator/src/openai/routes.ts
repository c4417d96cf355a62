import { Hono } from 'hono';
import type { OpenAIEnv } from './auth.ts';
import { openaiAuth } from './auth.ts';
import { readCreateRequest } from './create-request.ts';
import { parseOpenAIScenario } from './directives.ts';
import { invalidRequest, openaiError, responseNotFound, serverError } from './errors.ts';
import { OPENAI_SSE_HEADERS } from './framing.ts';
import { atCapacity, rejection } from './rejections.ts';
import { readStartingAfter, resumeRefusal } from './resume.ts';
import type { OpenAIService } from './service.ts';
import type { OpenAIStatsRecorder } from './stats.ts';
import { vendorId } from './text.ts';

/** Dependencies of the `/openai/v1` routes. */
export interface OpenAIRoutesOptions {
  service: OpenAIService;
  stats: OpenAIStatsRecorder;
  maxJobs: number;
  token?: string | undefined;
  now: () => number;
}

/** The Responses API paths (mounted where `https://api.openai.com/v1` would be): recorded, given vendor headers, key-checked. */
export function createOpenAIRoutes(options: OpenAIRoutesOptions): Hono<OpenAIEnv> {
  const { service, stats, now } = options;
  const app = new Hono<OpenAIEnv>();

  app.use('*', async (c, next) => {
    const started = now();
    stats.request(c.req.method, new URL(c.req.url).pathname, started);
    await next();
    c.res.headers.set('x-request-id', vendorId('req').slice(0, 36));
    c.res.headers.set('openai-version', '2020-10-01');
    c.res.headers.set('openai-processing-ms', String(now() - started));
  });
  app.use('*', openaiAuth(options.token));

  app.post('/responses', async (c) => {
    const parsed = readCreateRequest(await c.req.text());
    if (!parsed.ok) return invalidRequest(parsed.problem.message, parsed.problem.param, parsed.problem.code);
    const { request } = parsed;
    const directives = parseOpenAIScenario(request.text);
    if (!directives.ok) return invalidRequest(directives.error, 'input', 'invalid_value');
    const { scenario } = directives;
    const apiKey = c.get('apiKey');
    if (scenario.status !== undefined) return rejection(scenario.status, scenario.echoToken ? apiKey : undefined);
    const created = service.create({ request, scenario, apiKey });
    if (!created.ok) return atCapacity(created.running, options.maxJobs);
    if (created.stream) return new Response(created.stream, { status: 200, headers: OPENAI_SSE_HEADERS });
    return c.json(created.finished ? await created.finished : created.record.state.response);
  });

  app.get('/responses/:id', (c) => {
    const id = c.req.param('id');
    const streaming = c.req.query('stream') === 'true';
    if (!streaming) stats.polled(id);
    const record = service.find(id);
    if (!record) return responseNotFound(id);
    if (!streaming) return c.json(record.state.response);
    const refusal = resumeRefusal(record, now());
    if (refusal) return refusal;
    const start = readStartingAfter(c.req.query('starting_after'));
    if (!start.ok) return start.response;
    const body = service.resume(record, start.after, c.req.query('include_obfuscation') !== 'false');
    return new Response(body, { status: 200, headers: OPENAI_SSE_HEADERS });
  });

  app.post('/responses/:id/cancel', (c) => {
    const record = service.find(c.req.param('id'));
    if (!record) return responseNotFound(c.req.param('id'));
    // Secondary source (Azure's contract); the vendor's wording is not documented.
    if (!record.background) return invalidRequest('Cannot cancel a synchronous response.');
    record.run.cancel(); // a response that has already ended is returned as it is (the guide: idempotent)
    return c.json(record.state.response);
  });

  app.delete('/responses/:id', (c) => {
    const record = service.find(c.req.param('id'));
    if (!record) return responseNotFound(c.req.param('id'));
    service.delete(record);
    return c.json({ id: record.id, object: 'response', deleted: true });
  });

  app.all('*', (c) =>
    openaiError(404, {
      message: `Invalid URL (${c.req.method} ${new URL(c.req.url).pathname})`,
      type: 'invalid_request_error',
      param: null,
      code: null,
    }),
  );
  app.onError(() => serverError());

  return app;
}
