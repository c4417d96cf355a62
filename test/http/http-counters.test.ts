import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { RelayError } from '../../src/core/errors.ts';
import { createErrorHandler } from '../../src/http/error-response.ts';
import { UNMATCHED_ROUTE, createHttpCounters } from '../../src/http/http-counters.ts';
import { silentLogger } from '../../src/core/logger.ts';

// Requests are counted by the pattern of the route that answered (or would have, when an
// app-wide middleware refused first), never by their path; refusals by their code.

function app() {
  const counters = createHttpCounters();
  const app = new Hono();
  app.use('*', counters.middleware);
  app.use('*', async (c, next) => {
    if (c.req.header('X-Refuse')) throw new RelayError('forbidden', 'refused before routing');
    await next();
  });
  app.get('/v1/jobs/:profile/:jobid/stream', (c) => c.text('ok'));
  app.post('/v1/jobs/:profile/:jobid/stream', () => {
    throw new RelayError('bad_request', 'no');
  });
  const sub = new Hono();
  sub.all('/queue/*', (c) => c.text('queued'));
  sub.all('*', (c) => c.json({ error: 'vendor 404' }, 404));
  app.route('/fal', sub);
  app.get('/boom', () => {
    throw new RelayError('upstream_error', 'the vendor broke');
  });
  app.notFound((c) => c.json({ error: 'no such route', code: 'not_found' }, 404));
  app.onError(createErrorHandler({ logger: silentLogger, redact: (t) => t, counters })());
  return { app, counters };
}

const table = (counters: ReturnType<typeof createHttpCounters>) =>
  [...counters.requests()].map(({ route, method, status, count }) => `${method} ${status} ${route} ×${count}`).sort();

describe('request counters', () => {
  it('label each request with its route pattern, its method and status', async () => {
    const { app: served, counters } = app();
    await served.request('/v1/jobs/midjourney-v3/j1/stream?token=secret-token');
    await served.request('/v1/jobs/fal-queue/j2/stream');
    await served.request('/v1/jobs/fal-queue/j2/stream', { method: 'POST' });
    await served.request('/v1/jobs/fal-queue/j2/stream', { headers: { 'X-Refuse': '1' } });
    await served.request('/fal/queue/fal-ai/flux/dev', { method: 'POST' });
    await served.request('/fal/elsewhere');
    await served.request('/no/such/path/j3');
    await served.request('/boom');
    await served.request('/v1/jobs/x/y/stream', { method: 'PROPFIND' });
    expect(table(counters)).toEqual(
      [
        'GET 200 /v1/jobs/:profile/:jobid/stream ×2',
        'POST 400 /v1/jobs/:profile/:jobid/stream ×1',
        // Refused by an app-wide middleware: labelled with the route it was for.
        'GET 403 /v1/jobs/:profile/:jobid/stream ×1',
        'POST 200 /fal/queue/* ×1',
        'GET 404 /fal/* ×1',
        `GET 404 ${UNMATCHED_ROUTE} ×1`,
        'GET 502 /boom ×1',
        `other 404 ${UNMATCHED_ROUTE} ×1`,
      ].sort(),
    );
    // The gateway's own refusals by code; the upstream's failure is none of them.
    expect(Object.fromEntries(counters.rejections())).toEqual({ bad_request: 1, forbidden: 1 });
  });
});
