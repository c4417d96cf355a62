/** The four fields of OpenAI's `ErrorResponse.error`; `param` and `code` may be null but are always present. */
export interface OpenAIErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** A JSON error in OpenAI's shape, `{"error":{"message","type","param","code"}}`, with any status. */
export function openaiError(status: number, error: OpenAIErrorBody, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

/** A 400 `invalid_request_error` about one request field. */
export function invalidRequest(message: string, param: string | null = null, code: string | null = null): Response {
  return openaiError(400, { message, type: 'invalid_request_error', param, code });
}

/** The 404 for a response id the simulator does not know (or no longer keeps). */
export function responseNotFound(id: string): Response {
  return openaiError(404, { message: `Response with id '${id}' not found.`, type: 'invalid_request_error', param: null, code: null });
}

/** The 500 the vendor answers when something broke on its side. */
export function serverError(): Response {
  return openaiError(500, {
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    param: null,
    code: null,
  });
}

/** The text `--sim-echo-token` appends to messages, so leak tests can look for the caller's key. */
export function echoSuffix(echoedToken: string | undefined): string {
  return echoedToken === undefined ? '' : ` (Authorization: Bearer ${echoedToken})`;
}
