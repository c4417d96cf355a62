import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { RelayError, errorBody } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { type UpstreamReply, upstreamErrorMessage } from '../core/upstream.ts';

/** Responses every runtime's HTTP entry shares: limits, upstream replies, error mapping. */

/** Rejects a body over `maxBytes` with `payload_too_large`. */
export function createBodyLimit(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new RelayError('payload_too_large', `request body exceeds ${maxBytes} bytes`);
    },
  });
}

/** An upstream reply forwarded as is (it was redacted when read). */
export function passThrough(reply: UpstreamReply): Response {
  const status = reply.status >= 200 && reply.status < 600 ? reply.status : 502;
  return Response.json(reply.body, { status });
}

/** The upstream's non-streaming answer to a create: passed through, or its rejection as our error. */
export function createReply(reply: UpstreamReply, redact: (text: string) => string): Response {
  const { status, body } = reply;
  if (status >= 400) {
    const message = upstreamErrorMessage(body) ?? `upstream answered ${status}`;
    throw new RelayError('upstream_rejected', redact(message), { status: (status >= 400 && status < 500) || status === 596 ? status : 502 });
  }
  return passThrough(reply);
}

/** The `app.onError` handler: RelayError → its JSON body and status; anything else → logged 500. */
export function errorHandler(logger: Logger, redact: (text: string) => string) {
  return (err: Error, c: Context): Response => {
    if (err instanceof RelayError) {
      if (err.retryAfterS !== undefined) c.header('Retry-After', String(err.retryAfterS));
      return c.json(errorBody(err), err.status as 400);
    }
    logger.error({ err: redact(err.stack ?? err.message), path: c.req.path }, 'unhandled error');
    return c.json({ error: 'internal error', code: 'internal' }, 500);
  };
}

/** The `app.notFound` handler. */
export const notFoundHandler = (c: Context): Response => c.json({ error: 'no such route', code: 'not_found' }, 404);
