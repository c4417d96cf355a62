import { RelayError, errorMessage } from '../errors.ts';
import { MAX_JSON_DEPTH, jsonTooDeep } from './json-depth.ts';
import type { UpstreamProfile, UpstreamReply, UpstreamRequest } from '../profile.ts';

export type { UpstreamReply, UpstreamRequest } from '../profile.ts';

/** Where one vendor's API lives and the credential for it. */
export interface UpstreamEndpoint {
  baseUrl: string;
  credential: string;
  fetch?: typeof fetch;
  /** Per-request timeout for non-streaming calls, ms. */
  timeoutMs?: number;
  /**
   * Other origins of the vendor's that requests may name (`UpstreamRequest.origin`); any other
   * origin but the base URL's own is refused before anything is sent, so the credential goes only where it belongs.
   * None by default: a vendor reached through a simulator or a stand-in reaches nothing else.
   */
  origins?: readonly string[];
}

/** A streaming answer's raw body (read it with readEvents, which redacts), or the non-streaming reply. */
export type StreamResult = { kind: 'stream'; body: ReadableStream<Uint8Array> } | { kind: 'reply'; reply: UpstreamReply };

/** The vendor API client: sends a profile's requests with the credential, never lets it out in what it returns. */
export interface UpstreamClient {
  /** A call answered with JSON (redacted, parsed). */
  send(request: UpstreamRequest): Promise<UpstreamReply>;
  /** A call that may answer with SSE: the body when it does, else the reply. */
  open(request: UpstreamRequest): Promise<StreamResult>;
}

/** Builds the client for one profile at one endpoint. */
export function createUpstreamClient(
  profile: Pick<UpstreamProfile, 'authorization'>,
  endpoint: UpstreamEndpoint,
  redact: (text: string) => string,
): UpstreamClient {
  const base = endpoint.baseUrl.replace(/\/+$/, '');
  const doFetch = endpoint.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = endpoint.timeoutMs ?? 15000;

  // The base URL's own host may be named too: the credential goes there anyway (Replicate's stream URLs on a stand-in).
  const ownOrigin = new URL(base).origin;

  async function call(request: UpstreamRequest): Promise<Response> {
    if (request.origin !== undefined && request.origin !== ownOrigin && !(endpoint.origins ?? []).includes(request.origin)) {
      throw new RelayError('bad_request', `Invalid request: ${request.origin} is not relayed by this gateway's configuration`);
    }
    const headers: Record<string, string> = {
      ...profile.authorization(endpoint.credential),
      Accept: request.stream ? 'text/event-stream' : 'application/json',
    };
    const init: RequestInit = { method: request.method, headers };
    if (request.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(request.body);
    }
    if (!request.stream) init.signal = AbortSignal.timeout(timeoutMs);
    try {
      return await doFetch((request.origin ?? base) + request.path, init);
    } catch (err) {
      const reason = errorMessage(err);
      throw new RelayError('upstream_error', `upstream unreachable: ${redact(reason)}`, { cause: err });
    }
  }

  async function reply(response: Response): Promise<UpstreamReply> {
    let text: string;
    try {
      text = redact(await response.text());
    } catch (err) {
      throw new RelayError('upstream_error', 'upstream response was cut off', { cause: err });
    }
    // Re-serialising it (the reply is passed on as JSON) would overflow the stack.
    if (jsonTooDeep(text))
      throw new RelayError('upstream_error', `upstream answered ${response.status} with JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      // A success that is not JSON (an HTML page from a proxy, say) is an upstream failure, not an answer.
      if (response.status < 400) throw new RelayError('upstream_error', `upstream answered ${response.status} with a non-JSON body`);
      body = { error: `upstream answered ${response.status} with a non-JSON body` };
    }
    return { status: response.status, body };
  }

  return {
    async send(request) {
      return reply(await call(request));
    },
    async open(request) {
      const response = await call({ ...request, stream: true });
      const type = response.headers.get('content-type') ?? '';
      // The raw body: readEvents redacts every event before anything parses it.
      if (response.ok && type.includes('text/event-stream') && response.body) return { kind: 'stream', body: response.body };
      return { kind: 'reply', reply: await reply(response) };
    },
  };
}
