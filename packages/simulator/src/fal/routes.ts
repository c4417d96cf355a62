import { Hono } from 'hono';
import { SSE_HEADERS } from '../sse-sink.ts';
import { keyAuth } from './auth.ts';
import type { FalEnv } from './auth.ts';
import { detailResponse, jsonResponse } from './errors.ts';
import { parseQueuePath } from './paths.ts';
import type { CancelOutcome } from './request-run.ts';
import type { FalService } from './service.ts';
import type { FalStatsRecorder } from './stats.ts';
import { statusObject } from './status.ts';
import type { FalRecord } from './store.ts';
import { handleSubmit } from './submit.ts';

/** Dependencies of the queue routes. */
export interface FalRoutesOptions {
  service: FalService;
  stats: FalStatsRecorder;
  /** If set, the only key accepted. */
  key?: string | undefined;
  publicOrigin?: string | undefined;
  /** Where the routes are mounted, e.g. `/fal/queue`. */
  queuePath: string;
  now: () => number;
}

/**
 * HTTP status of each cancel answer (unconfirmed: fal names the four values, not their codes): removed from
 * the queue 200, signalled to a running request 202, already completed 400, unknown 404.
 */
const CANCEL_STATUS: Record<CancelOutcome | 'NOT_FOUND', number> = {
  OK: 200,
  CANCELLATION_REQUESTED: 202,
  ALREADY_COMPLETED: 400,
  NOT_FOUND: 404,
};

/** fal's queue paths (mounted at `queuePath`): every request is recorded, then key-checked, then dispatched. */
export function createFalQueueRoutes(options: FalRoutesOptions): Hono<FalEnv> {
  const { service, stats } = options;
  const app = new Hono<FalEnv>();

  app.use('*', async (c, next) => {
    stats.request(c.req.method, c.req.path, options.now());
    await next();
  });
  app.use('*', keyAuth(options.key));

  app.all('*', async (c) => {
    const route = parseQueuePath(c.req.method, c.req.path.slice(options.queuePath.length));
    if (!route) return detailResponse(404, 'Not Found');
    if (route.kind === 'submit') {
      stats.submitted();
      return handleSubmit(c, route.appId, options);
    }
    const { requestId } = route;
    if (route.kind === 'status') stats.polled(requestId);
    if (route.kind === 'result') stats.resultFetched(requestId);
    const record = service.find(route.appId, requestId);
    if (!record) {
      if (route.kind === 'cancel') return jsonResponse(404, { status: 'NOT_FOUND' });
      return detailResponse(404, 'Request not found');
    }
    const headers = { 'x-fal-request-id': requestId };
    if (route.kind === 'status') return status(record, c.req.query('logs'), headers);
    if (route.kind === 'stream') {
      stats.streamOpened();
      const stream = service.openStream(record, readLogsFlag(c.req.query('logs')));
      return new Response(stream.body, { status: 200, headers: { ...SSE_HEADERS, ...headers } });
    }
    if (route.kind === 'result') return result(record, headers);
    const outcome = service.cancel(record);
    return jsonResponse(CANCEL_STATUS[outcome], { status: outcome }, headers);
  });
  app.onError(() => detailResponse(500, 'Internal Server Error'));

  return app;
}

/** 202 while `IN_QUEUE` or `IN_PROGRESS`, 200 once `COMPLETED`; `logs` holds every line so far with `?logs=1`. */
function status(record: FalRecord, logs: string | undefined, headers: Record<string, string>): Response {
  const view = record.run.view();
  const body = statusObject(view, record.urls, readLogsFlag(logs) ? view.logs : []);
  return jsonResponse(view.status === 'COMPLETED' ? 200 : 202, body, headers);
}

/** The model's answer once `COMPLETED` (status, body and headers as the model gave them), else a 400. */
function result(record: FalRecord, headers: Record<string, string>): Response {
  const answer = record.run.answer;
  if (!answer) return detailResponse(400, 'Request is still in progress', headers);
  return jsonResponse(answer.status, answer.body, { ...answer.headers, ...headers });
}

/** The JS client sends `logs=0|1`, the Python client `logs=true|false`. */
function readLogsFlag(value: string | undefined): boolean {
  return value === '1' || value === 'true';
}
