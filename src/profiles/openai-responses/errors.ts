/**
 * Errors on the OpenAI drop-in paths in the vendor's shape, `{"error":{"message","type","param","code"}}`,
 * which the official SDK reads, and the upstream's error answers turned into ours.
 */
import { RelayError } from '../../core/errors.ts';
import type { UpstreamReply } from '../../core/profile.ts';
import type { ErrorShape } from '../../http/error-response.ts';

/** OpenAI's `type` for one of our errors. */
function errorType(err: RelayError): string {
  if (err.status === 429) return 'rate_limit_exceeded';
  if (err.status === 401) return 'invalid_request_error';
  if (err.status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** Our error as the vendor would have framed it; `code` is the gateway's fixed code. */
export function openaiErrorBody(err: RelayError): { error: { message: string; type: string; param: string | null; code: string } } {
  return { error: { message: err.message, type: errorType(err), param: null, code: err.code } };
}

/**
 * The drop-in paths' error shape: ours in the vendor's four fields, a VendorRejection as the
 * vendor framed it; `noRetry` (the SDK's retry header) as the route set it, else `false` on a POST
 * (a create the upstream may already have accepted).
 */
export function openaiErrors(noRetry: string): ErrorShape {
  return {
    body: openaiErrorBody,
    authScheme: 'Bearer',
    vendorError: (err) =>
      err instanceof VendorRejection ? { status: err.status, body: err.body, retryAfterS: err.retryAfterS } : undefined,
    headers(c) {
      const retry = c.res.headers.get(noRetry) ?? (c.req.method === 'POST' ? 'false' : undefined);
      return retry ? { [noRetry]: retry } : {};
    },
  };
}

/** The vendor's four-field error, if a reply body carries one. */
function vendorError(body: unknown): { message?: unknown; type?: unknown; param?: unknown; code?: unknown } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : undefined;
}

/** An upstream error the caller may see as the vendor framed it (redacted), with its status. */
export class VendorRejection extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: { message: string; type: string; param: string | null; code: string | null } },
    readonly retryAfterS?: number,
  ) {
    super(body.error.message);
    this.name = 'VendorRejection';
  }
}

/** Statuses whose vendor answer is passed on (its message redacted): the caller's own mistakes and rate limits. */
const PASSED_ON: ReadonlySet<number> = new Set([400, 404, 409, 413, 422, 429]);

/**
 * An upstream error answer as what the caller sees: a 400/404/409/413/422/429 keeps its status
 * and the vendor's fields (the message redacted); a 401/403 is the gateway's own 502 (the
 * vendor's message can carry a masked fragment of the key); anything else is a 502.
 */
export function upstreamFailure(reply: UpstreamReply, redact: (text: string) => string): VendorRejection | RelayError {
  if (reply.status === 401 || reply.status === 403) {
    return new RelayError('upstream_error', `the upstream refused the gateway's credential (${reply.status})`);
  }
  const error = vendorError(reply.body);
  if (PASSED_ON.has(reply.status) && error) {
    const text = (value: unknown) => (typeof value === 'string' ? redact(value) : null);
    return new VendorRejection(
      reply.status,
      {
        error: {
          message: text(error.message) ?? `upstream answered ${reply.status}`,
          type: text(error.type) ?? 'invalid_request_error',
          param: text(error.param),
          code: text(error.code),
        },
      },
      reply.status === 429 ? 1 : undefined,
    );
  }
  if (reply.status === 404) return new RelayError('not_found', 'Response not found');
  if (reply.status >= 400 && reply.status < 500)
    return new RelayError('upstream_rejected', `upstream answered ${reply.status}`, { status: reply.status });
  return new RelayError('upstream_error', `upstream answered ${reply.status}`);
}

/**
 * The vendor's `error` stream event (the nested form first-party streams use) for an
 * error after the stream began (the create queue gave up, or the upstream refused the create):
 * the SDK throws on it, instead of taking a clean close for an answer.
 */
export function errorEventData(err: unknown): string {
  const error =
    err instanceof VendorRejection
      ? err.body.error
      : err instanceof RelayError
        ? openaiErrorBody(err).error
        : { message: 'internal error', type: 'server_error', param: null, code: 'internal' };
  return JSON.stringify({ type: 'error', sequence_number: 0, error });
}
