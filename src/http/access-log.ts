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
    logger.info(
      {
        reqId: c.get('requestId') as string | undefined,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - start) * 10) / 10,
        ip: clientIp(c),
      },
      'request',
    );
  };
}
