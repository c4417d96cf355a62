import type { Context, ErrorHandler } from 'hono';
import { type ErrorCode, RelayError, errorBody, errorDetail } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

/** An error's answer before it becomes a Response: status, JSON body, extra headers. */
export interface ErrorAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/**
 * How a profile's drop-in paths frame the gateway's errors, as the vendor's SDK reads them
 * (OpenAI's `{"error":{…}}`, fal's `{"detail"}`); the profile hook of the one error mapping.
 */
export interface ErrorShape {
  /** The body of a RelayError on these paths. */
  body(err: RelayError): unknown;
  /** The scheme named by `WWW-Authenticate` on a 401 (`Bearer`, fal's `Key`). */
  authScheme: string;
  /** An error of the vendor's own kind (an upstream answer passed on as the vendor framed it), or undefined for any other. */
  vendorError?(err: Error): { status: number; body: unknown; retryAfterS?: number } | undefined;
  /** Headers every shaped error answer on these paths carries, given the request. */
  headers?(c: Context): Record<string, string>;
}

/** The gateway's own shape, `{"error", "code"}`, on every path no profile shapes. */
export const gatewayErrors: ErrorShape = { body: errorBody, authScheme: 'Bearer' };

/** What a client sees of any unexpected error: never its message (it may hold anything). */
export const INTERNAL_ERROR: ErrorAnswer = { status: 500, body: { error: 'internal error', code: 'internal' }, headers: {} };

/**
 * The one mapping from a thrown error to its answer: a RelayError (or the shape's vendor error)
 * with its status, `Retry-After` and `WWW-Authenticate`, in the shape's body; undefined for
 * anything else, which is a bug (see `answerUnexpected`).
 */
export function errorAnswer(err: RelayError, shape?: ErrorShape, c?: Context): ErrorAnswer;
export function errorAnswer(err: unknown, shape?: ErrorShape, c?: Context): ErrorAnswer | undefined;
export function errorAnswer(err: unknown, shape: ErrorShape = gatewayErrors, c?: Context): ErrorAnswer | undefined {
  if (!(err instanceof Error)) return undefined;
  const vendor = shape.vendorError?.(err);
  const relayError = err instanceof RelayError ? err : undefined;
  if (!vendor && !relayError) return undefined;
  const headers: Record<string, string> = c && shape.headers ? shape.headers(c) : {};
  const retryAfterS = vendor ? vendor.retryAfterS : relayError?.retryAfterS;
  if (retryAfterS !== undefined) headers['Retry-After'] = String(retryAfterS);
  if (vendor) return { status: vendor.status, body: vendor.body, headers };
  const known = relayError as RelayError;
  if (known.code === 'unauthorized') headers['WWW-Authenticate'] = `${shape.authScheme} realm="sse-relay"`;
  return { status: known.status, body: shape.body(known), headers };
}

/** An unexpected error: logged with its stack and causes (redacted), answered 500 without a word of it. */
export function answerUnexpected(
  err: unknown,
  log: { logger: Logger; redact: (text: string) => string },
  fields: Record<string, unknown>,
  message: string,
): ErrorAnswer {
  log.logger.error({ err: log.redact(errorDetail(err)), ...fields }, message);
  return INTERNAL_ERROR;
}

/** An answer as a Response (outside Hono: the Worker's job object). */
export function errorResponse(answer: ErrorAnswer): Response {
  return Response.json(answer.body, { status: answer.status, headers: answer.headers });
}

/**
 * The app's error handler for paths in `shape` (the app's own, or a profile's drop-in paths):
 * known errors in the shape, anything else logged and answered 500.
 */
export function createErrorHandler(log: {
  logger: Logger;
  redact: (text: string) => string;
  /** Counts the gateway's own refusals (HttpCounters). */
  counters?: { rejected(code: ErrorCode): void };
}): (shape?: ErrorShape) => ErrorHandler {
  return (shape = gatewayErrors) =>
    (err, c) => {
      if (err instanceof RelayError) log.counters?.rejected(err.code);
      const answer = errorAnswer(err, shape, c) ?? answerUnexpected(err, log, { path: c.req.path }, 'unhandled error');
      return c.json(answer.body as object, answer.status as 400, answer.headers);
    };
}
