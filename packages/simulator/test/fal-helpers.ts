import { createFalClient } from '@fal-ai/client';
import type { FalClient } from '@fal-ai/client';
import { createParser } from 'eventsource-parser';
import { FAL_QUEUE_PATH } from '../src/fal/fal-simulator.ts';
import { until } from './until.ts';

/** The endpoint the tests use, as fal names it. */
export const FLUX = 'fal-ai/flux/dev';

/** The official client, its queue host rewritten to the simulator (the URLs it builds start with `https://queue.fal.run`). */
export function falClient(origin: string, key = 'test-key'): FalClient {
  return createFalClient({
    credentials: key,
    requestMiddleware: async (request) => ({ ...request, url: request.url.replace('https://queue.fal.run', `${origin}${FAL_QUEUE_PATH}`) }),
  });
}

/** Headers of a fal-authenticated JSON request. */
export function falHeaders(key = 'test-key'): Record<string, string> {
  return { Authorization: `Key ${key}`, 'Content-Type': 'application/json', Accept: 'application/json' };
}

/** The submit answer's fields. */
export interface Submitted {
  status: string;
  request_id: string;
  response_url: string;
  status_url: string;
  cancel_url: string;
  queue_position: number;
}

/** POSTs `input` to `<origin>/fal/queue/<endpoint>`. */
export function submitRaw(origin: string, input: unknown, endpoint = FLUX, key = 'test-key'): Promise<Response> {
  return fetch(`${origin}${FAL_QUEUE_PATH}/${endpoint}`, { method: 'POST', headers: falHeaders(key), body: JSON.stringify(input) });
}

/** Submits and returns the answer, failing unless it is a 200. */
export async function submit(origin: string, input: unknown, endpoint = FLUX): Promise<Submitted> {
  const response = await submitRaw(origin, input, endpoint);
  if (response.status !== 200) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Submitted;
}

/** A status object as the queue sends it. */
export type FalStatusBody = { status: string; request_id: string; queue_position?: number; logs?: Array<{ message: string }> } & Record<
  string,
  unknown
>;

/** GETs a URL with the key; the status code and the JSON body. */
export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: FalStatusBody; headers: Headers }> {
  const response = await fetch(url, { headers: falHeaders(), ...init });
  return { status: response.status, body: (await response.json()) as FalStatusBody, headers: response.headers };
}

/** Polls the status URL until `status` (any HTTP code); returns the body. */
export async function waitForFalStatus(statusUrl: string, status: string, timeoutMs = 10_000): Promise<FalStatusBody> {
  return until(
    async () => (await getJson(`${statusUrl}?logs=1`)).body,
    (body) => body.status === status,
    (body) => `request is ${body.status}, expected ${status}`,
    timeoutMs,
  );
}

/** What a raw read of a status stream saw: the text, the parsed data payloads, the comments. */
export interface StreamRead {
  raw: string;
  data: string[];
  comments: string[];
}

/** Reads an SSE body incrementally; `until(pred)` reads until the predicate holds or the body ends, `rest()` to the end. */
export function sseReader(response: Response): {
  seen: StreamRead;
  until(done: (seen: StreamRead) => boolean): Promise<StreamRead>;
  rest(): Promise<StreamRead>;
  cancel(): Promise<void>;
} {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const seen: StreamRead = { raw: '', data: [], comments: [] };
  const parser = createParser({ onEvent: (event) => seen.data.push(event.data), onComment: (comment) => seen.comments.push(comment) });
  let ended = false;
  const pump = async (done: () => boolean) => {
    while (!ended && !done()) {
      const { done: end, value } = await reader.read();
      if (end) {
        ended = true;
        return;
      }
      const text = decoder.decode(value, { stream: true });
      seen.raw += text;
      parser.feed(text);
    }
  };
  return {
    seen,
    until: async (done) => {
      await pump(() => done(seen));
      return seen;
    },
    rest: async () => {
      await pump(() => false);
      return seen;
    },
    cancel: () => reader.cancel(),
  };
}

/** The data payloads that are status objects (JSON with `status` and `request_id`); junk is skipped. */
export function statusesOf(data: string[]): FalStatusBody[] {
  const statuses: FalStatusBody[] = [];
  for (const text of data) {
    try {
      const value = JSON.parse(text) as Partial<FalStatusBody> | null;
      if (typeof value?.status === 'string' && typeof value.request_id === 'string') statuses.push(value as FalStatusBody);
    } catch {
      // not JSON: junk a consumer must skip
    }
  }
  return statuses;
}

/** Opens `<status_url>/stream?logs=…` with the headers the official client sends. */
export function openStatusStream(statusUrl: string, logs = true): Promise<Response> {
  return fetch(`${statusUrl}/stream?logs=${logs ? 1 : 0}`, {
    headers: { ...falHeaders(), Accept: 'application/json, text/event-stream' },
  });
}
