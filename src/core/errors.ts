/** The fixed set of error codes the relay answers with, each with its default status (`STATUS`); src/http/error-response.ts answers them. */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'rate_limited'
  | 'unavailable'
  | 'upstream_rejected'
  | 'upstream_error'
  | 'queue_full'
  | 'queue_timeout'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  upstream_rejected: 502,
  upstream_error: 502,
  queue_full: 503,
  queue_timeout: 503,
  internal: 500,
};

export interface RelayErrorOptions {
  /** Overrides the code's default status (used to pass an upstream 4xx through). */
  status?: number;
  retryAfterS?: number;
  /** What went wrong underneath (a bus outage, a parse error): kept for logs, never shown to a client. */
  cause?: unknown;
}

/** The one error type the relay throws on purpose; its message is safe to show a client. */
export class RelayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfterS: number | undefined;

  constructor(code: ErrorCode, message: string, options: RelayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RelayError';
    this.code = code;
    this.status = options.status ?? STATUS[code];
    this.retryAfterS = options.retryAfterS;
  }
}

/** JSON body for an error response: the vendor's `error` field plus our `code`. */
export function errorBody(err: RelayError): { error: string; code: ErrorCode } {
  return { error: err.message, code: err.code };
}

/** A thrown value's message: an Error's own, anything else as text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** How many causes deep `errorDetail` follows a chain (a cycle must not loop). */
const MAX_CAUSES = 5;

const stackOf = (value: unknown) => (value instanceof Error ? (value.stack ?? value.message) : String(value));

/** A thrown value for a log line: its stack (else message), then each `cause` under it. Redact before logging. */
export function errorDetail(err: unknown): string {
  let text = stackOf(err);
  let cause = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < MAX_CAUSES; depth++) {
    text += `\ncaused by: ${stackOf(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}
