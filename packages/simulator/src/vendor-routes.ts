import { Hono } from 'hono';
import { parseScenario } from './directives.ts';
import { bearerAuth, errorResponse } from './http.ts';
import type { SimEnv } from './http.ts';
import type { JobService } from './job-service.ts';
import { rejectionMessage } from './rejections.ts';
import { readCreateBody } from './request-body.ts';
import { SSE_HEADERS } from './sse-sink.ts';
import type { StatsRecorder } from './stats.ts';
import { isVerb, validateCreateRequest } from './verbs.ts';

/** Dependencies of the vendor routes. */
export interface VendorRoutesOptions {
  service: JobService;
  stats: StatsRecorder;
  token?: string;
  /** Origin for image URLs instead of the request's. */
  publicOrigin?: string | undefined;
  now: () => number;
}

/** The vendor's `/jobs` API (mounted under the base path): every request is recorded, then bearer-checked. */
export function createVendorRoutes(options: VendorRoutesOptions): Hono<SimEnv> {
  const { service, stats } = options;
  const app = new Hono<SimEnv>();

  app.use('*', async (c, next) => {
    stats.request(c.req.method, new URL(c.req.url).pathname, options.now());
    await next();
  });
  app.use('*', bearerAuth(options.token));

  app.post('/jobs/:verb', async (c) => {
    const verb = c.req.param('verb');
    if (!isVerb(verb)) return errorResponse(404, `Unknown verb: ${verb}`);
    const parsed = await readCreateBody(c.req.raw);
    if (!parsed.ok) return errorResponse(400, parsed.error);
    const invalid = validateCreateRequest(verb, parsed.body);
    if (invalid) return errorResponse(400, invalid);
    const prompt = typeof parsed.body.prompt === 'string' ? parsed.body.prompt : undefined;
    const directives = parseScenario(prompt);
    if (!directives.ok) return errorResponse(400, directives.error);
    const { scenario } = directives;
    const token = c.get('token');
    if (scenario.status !== undefined) {
      return errorResponse(scenario.status, rejectionMessage(scenario.status, scenario.echoToken ? token : undefined));
    }
    const origin = options.publicOrigin ?? new URL(c.req.url).origin;
    const created = service.create({ verb, body: parsed.body, scenario, token, origin });
    if (!created.ok) return errorResponse(429, created.error);
    if (created.body) return new Response(created.body, { status: 200, headers: SSE_HEADERS });
    return c.json(created.job, 201);
  });

  app.get('/jobs', (c) => c.json(service.overview()));

  app.get('/jobs/:jobid', (c) => {
    const jobid = c.req.param('jobid');
    stats.polled(jobid);
    const job = service.get(jobid);
    return job ? c.json(job) : errorResponse(404, 'Job not found');
  });

  app.delete('/jobs/:jobid', (c) => {
    const result = service.cancel(c.req.param('jobid'));
    if (!result.found) return errorResponse(404, 'Job not found');
    if (!result.cancelled) return errorResponse(400, `Job is not running (status ${result.job.status})`);
    return c.json(result.job);
  });

  return app;
}
