import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseResult {
  status: number;
  headers: Headers;
  events: EventSourceMessage[];
  comments: string[];
  retry: number | undefined;
  /** Everything the server sent, as text. */
  raw: string;
}

export interface ReadSseOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Stop reading (and disconnect) once this returns true. */
  stopWhen?: (events: EventSourceMessage[]) => boolean;
  timeoutMs?: number;
}

/** Reads an SSE response to its end (or until stopWhen), parsing it with eventsource-parser. */
export async function readSse(url: string, options: ReadSseOptions = {}): Promise<SseResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`SSE read timed out: ${url}`)), options.timeoutMs ?? 20_000);
  const result: SseResult = { status: 0, headers: new Headers(), events: [], comments: [], retry: undefined, raw: '' };
  try {
    const init: RequestInit = { method: options.method ?? 'GET', headers: options.headers ?? {}, signal: controller.signal };
    if (options.body !== undefined) init.body = options.body;
    const response = await fetch(url, init);
    result.status = response.status;
    result.headers = response.headers;
    if (!response.body || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
      result.raw = await response.text();
      return result;
    }
    const parser = createParser({
      onEvent: (event) => void result.events.push(event),
      onComment: (comment) => void result.comments.push(comment),
      onRetry: (retry) => void (result.retry = retry),
    });
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      result.raw += text;
      parser.feed(text);
      if (options.stopWhen?.(result.events)) {
        await reader.cancel();
        break;
      }
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** The `id:` of each numbered event, as numbers. */
export function ids(events: EventSourceMessage[]): number[] {
  return events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
}

/** POSTs a job; returns the parsed SSE result of the drop-in streaming response. */
export function createJob(base: string, prompt: string, extra: Record<string, unknown> = {}, options: ReadSseOptions = {}) {
  // Content-Type stays whatever other headers the caller adds.
  return readSse(`${base}/v3/midjourney/jobs/imagine`, {
    ...options,
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...options.headers },
    body: JSON.stringify({ prompt, ...extra }),
  });
}

/** Starts a job with stream:false and returns its id. */
export async function createJobId(base: string, prompt: string): Promise<string> {
  const response = await fetch(`${base}/v3/midjourney/jobs/imagine`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt, stream: false }),
  });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${await response.text()}`);
  const job = (await response.json()) as { jobid: string };
  return job.jobid;
}

export const streamUrl = (base: string, jobId: string, query = '') =>
  `${base}/v3/midjourney/jobs/${encodeURIComponent(jobId)}/stream${query}`;
