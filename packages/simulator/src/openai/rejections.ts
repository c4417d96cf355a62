import { echoSuffix, openaiError } from './errors.ts';
import type { OpenAIErrorBody } from './errors.ts';

/** What a 429 tells the caller to wait, in whole seconds as the vendor's `Retry-After` does. */
export const RETRY_AFTER_S = 1;

const REJECTIONS: Record<number, Omit<OpenAIErrorBody, 'param'>> = {
  400: { message: 'Simulated invalid request.', type: 'invalid_request_error', code: null },
  401: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { message: 'Country, region, or territory not supported', type: 'request_forbidden', code: 'unsupported_country_region_territory' },
  404: { message: 'The model does not exist or you do not have access to it.', type: 'invalid_request_error', code: 'model_not_found' },
  429: { message: 'Rate limit reached for requests. Please try again in 1s.', type: 'requests', code: 'rate_limit_exceeded' },
  500: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null },
  503: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', code: null },
};

/** The answer to a create rejected by `--sim-status`, in the vendor's shape for that status (429 with `Retry-After`). */
export function rejection(status: number, echoedToken?: string): Response {
  const known = REJECTIONS[status];
  const base = known ?? {
    message: `Simulated status ${status}.`,
    type: status < 500 ? 'invalid_request_error' : 'server_error',
    code: null,
  };
  const headers: Record<string, string> = status === 429 ? { 'Retry-After': String(RETRY_AFTER_S) } : {};
  return openaiError(status, { ...base, message: `${base.message}${echoSuffix(echoedToken)}`, param: null }, headers);
}

/** The 429 when `maxJobs` responses are already queued or in progress. */
export function atCapacity(running: number, limit: number): Response {
  return openaiError(
    429,
    {
      message: `Rate limit reached for requests: Limit ${limit}, Used ${running}, Requested 1. Please try again in ${RETRY_AFTER_S}s.`,
      type: 'requests',
      param: null,
      code: 'rate_limit_exceeded',
    },
    { 'Retry-After': String(RETRY_AFTER_S) },
  );
}
