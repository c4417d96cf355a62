import { RelayError } from './errors.ts';
import { MAX_JSON_DEPTH, jsonTooDeep } from './json-depth.ts';
import { redactStream } from './redact-stream.ts';

/** Where the vendor API lives and how to reach it; kept a profile since the vendor may go away. */
export interface UpstreamProfile {
  baseUrl: string;
  token: string;
  /** Paths relative to baseUrl; `{verb}` and `{jobid}` are replaced (jobid URL-encoded). */
  paths?: { create?: string; job?: string; jobs?: string };
  fetch?: typeof fetch;
  /** Per-request timeout for non-streaming calls, ms. */
  timeoutMs?: number;
}

/** A non-streaming upstream answer, already parsed and redacted. */
export interface UpstreamReply {
  status: number;
  body: unknown;
}

export type CreateResult = { kind: 'stream'; body: ReadableStream<Uint8Array> } | { kind: 'reply'; reply: UpstreamReply };

export interface UpstreamClient {
  /** POSTs a job with `stream:true`; a stream when the upstream streams, else its reply. */
  createJob(verb: string, body: Record<string, unknown>): Promise<CreateResult>;
  getJob(jobId: string): Promise<UpstreamReply>;
  listJobs(): Promise<UpstreamReply>;
  deleteJob(jobId: string): Promise<UpstreamReply>;
}

const DEFAULT_PATHS = { create: '/jobs/{verb}', job: '/jobs/{jobid}', jobs: '/jobs' };

/** The vendor API client: injects the token, never lets it out in what it returns. */
export function createUpstreamClient(profile: UpstreamProfile, redact: (text: string) => string): UpstreamClient {
  const base = profile.baseUrl.replace(/\/+$/, '');
  const paths = { ...DEFAULT_PATHS, ...profile.paths };
  const doFetch = profile.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = profile.timeoutMs ?? 15000;

  function url(template: string, params: Record<string, string>): string {
    return base + template.replace(/\{(\w+)\}/g, (_, key: string) => encodeURIComponent(params[key] ?? ''));
  }

  async function send(method: string, target: string, body?: unknown, stream = false): Promise<Response> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${profile.token}`,
      Accept: stream ? 'text/event-stream' : 'application/json',
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (!stream) init.signal = AbortSignal.timeout(timeoutMs);
    try {
      return await doFetch(target, init);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new RelayError('upstream_error', `upstream unreachable: ${redact(reason)}`);
    }
  }

  async function reply(response: Response): Promise<UpstreamReply> {
    let text: string;
    try {
      text = redact(await response.text());
    } catch {
      throw new RelayError('upstream_error', 'upstream response was cut off');
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
    async createJob(verb, body) {
      const response = await send('POST', url(paths.create, { verb }), { ...body, stream: true }, true);
      const type = response.headers.get('content-type') ?? '';
      if (response.ok && type.includes('text/event-stream') && response.body) {
        // The upstream may echo a secret inside events, in any encoding: it is cut out before anything parses them.
        return { kind: 'stream', body: redactStream(response.body, redact) };
      }
      return { kind: 'reply', reply: await reply(response) };
    },
    async getJob(jobId) {
      return reply(await send('GET', url(paths.job, { jobid: jobId })));
    },
    async listJobs() {
      return reply(await send('GET', url(paths.jobs, {})));
    },
    async deleteJob(jobId) {
      return reply(await send('DELETE', url(paths.job, { jobid: jobId })));
    },
  };
}

/** The vendor's `{"error": "..."}` message from a reply body, if it has one. */
export function upstreamErrorMessage(body: unknown): string | undefined {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = (body as { error: unknown }).error;
    if (typeof error === 'string') return error;
  }
  return undefined;
}
