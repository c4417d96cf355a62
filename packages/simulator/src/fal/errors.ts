/** One entry of fal's model-error `detail` array ("Model Errors"; `url` is required there). */
export interface FalErrorDetail {
  loc: Array<string | number>;
  msg: string;
  type: string;
  url: string;
  ctx?: Record<string, unknown>;
  input?: unknown;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** A JSON answer with any status (Hono's typed helpers reject some) and extra headers such as `x-fal-request-id`. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** `{"detail": "..."}`, fal's plain error shape (401, 404, 400 before completion). */
export function detailResponse(status: number, detail: string, headers: Record<string, string> = {}): Response {
  return jsonResponse(status, { detail }, headers);
}

/** A detail entry in fal's documented form, its `url` pointing at fal's error reference. */
export function errorDetail(loc: Array<string | number>, type: string, msg: string, input?: unknown): FalErrorDetail {
  const detail: FalErrorDetail = { loc, msg, type, url: `https://docs.fal.ai/errors/#${type}` };
  if (input !== undefined) detail.input = input;
  return detail;
}

/** Request error types by their typical HTTP status ("Request Error Types"); other 5xx get a plain detail. */
const ERROR_TYPES: Record<number, { type: string; detail: string }> = {
  503: { type: 'runner_scheduling_failure', detail: 'Failed to schedule a runner for the request' },
  504: { type: 'request_timeout', detail: 'Request timed out' },
};

/** Plain-text details of other statuses, by status. */
const CLIENT_ERRORS: Record<number, string> = {
  400: 'Bad Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
};

/**
 * The answer to a submit rejected by `--sim-status`: 503 and 504 are request errors
 * (`{"detail", "error_type"}` plus `X-Fal-Error-Type`), 422 a model error, the rest a plain detail.
 * `echoed` (from `--sim-echo-token`) is put into the text, for leak tests.
 */
export function rejectionResponse(status: number, echoed?: string): Response {
  const suffix = echoed === undefined ? '' : ` (Authorization: Key ${echoed})`;
  if (status === 422) {
    return jsonResponse(
      status,
      { detail: [errorDetail(['body'], 'simulated_rejection', `Simulated rejection${suffix}`)] },
      {
        'X-Fal-Retryable': 'false',
      },
    );
  }
  const known = ERROR_TYPES[status];
  if (known) {
    return jsonResponse(status, { detail: `${known.detail}${suffix}`, error_type: known.type }, { 'X-Fal-Error-Type': known.type });
  }
  return detailResponse(status, `${CLIENT_ERRORS[status] ?? `Simulated status ${status}`}${suffix}`);
}
