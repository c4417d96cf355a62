import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../core/logger.ts';

/**
 * One `request` log line per request once its response is ready (for a stream: when its head
 * goes out): method, path without the query (a `?token=` never reaches the log), status,
 * duration, client IP and the request id set by Hono's `requestId` middleware.
 */
export function accessLog(logger: Logger, clientIp: (c: Parameters<MiddlewareHandler>[0]) => string): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    await next();
    logRequest(logger, c.get('requestId') as string | undefined, c.req.method, c.req.path, c.res.status, start, clientIp(c));
  };
}

/** The access-log line of one request begun at `start` (performance.now()); the Node edge's stream shortcut writes it too. */
export function logRequest(
  logger: Logger,
  reqId: string | undefined,
  method: string,
  path: string,
  status: number,
  start: number,
  ip: string,
): void {
  const ms = Math.round((performance.now() - start) * 10) / 10;
  if (logger.request) logger.request(reqId, method, path, status, ms, ip);
  else logger.info({ reqId, method, path, status, ms, ip }, 'request');
}

/** Sets the request's id (requestIdOf) for the log and echoes it in `X-Request-Id`. */
export const requestIdMiddleware: MiddlewareHandler = async (c, next) => {
  const id = requestIdOf(c.req.header('X-Request-Id'));
  c.set('requestId', id);
  c.header('X-Request-Id', id);
  await next();
};

/** The request id the app keeps from `X-Request-Id` (≤ 255 of letters, digits, `_`, `-`, `=`), else a new one. */
export function requestIdOf(incoming: string | undefined): string {
  return incoming && incoming.length <= 255 && !/[^\w\-=]/.test(incoming) ? incoming : crypto.randomUUID();
}
