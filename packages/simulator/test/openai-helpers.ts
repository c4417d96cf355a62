import OpenAI from 'openai';
import { parseSse } from './helpers.ts';
import { until } from './until.ts';

/** The API key the tests send. */
export const API_KEY = 'sk-test-openai-key-0123456789';

/** An official SDK client pointed at a simulator, without retries (a retry could start a second response). */
export function sdkClient(origin: string, apiKey = API_KEY): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${origin}/openai/v1`, maxRetries: 0 });
}

/** A parsed stream event as the vendor sends it. */
export type StreamEvent = { type: string; sequence_number: number } & Record<string, unknown>;

/** POSTs a raw create to `<origin>/openai/v1/responses` (`apiKey` null: no Authorization header). */
export function postResponse(origin: string, body: unknown, apiKey: string | null = API_KEY): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (apiKey !== null) headers.Authorization = `Bearer ${apiKey}`;
  return fetch(`${origin}/openai/v1/responses`, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** A raw authenticated request to a path under `/openai/v1`. */
export function openaiFetch(origin: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${origin}/openai/v1${path}`, { ...init, headers: { Authorization: `Bearer ${API_KEY}`, ...init.headers } });
}

/** The JSON events of a raw SSE body, each checked to carry the name of its `type` on its `event:` line. */
export function openaiEvents(raw: string): StreamEvent[] {
  return parseSse(raw).map((message) => {
    const event = JSON.parse(message.data) as StreamEvent;
    if (message.event !== event.type) throw new Error(`event: ${String(message.event)} carries type ${event.type}`);
    return event;
  });
}

/** Collects an SDK stream's events until it ends. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const events: T[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** The types of a complete text answer with `deltas` deltas, in the vendor's order. */
export function answerTypes(deltas: number, terminal = 'response.completed', background = true): string[] {
  return [
    'response.created',
    ...(background ? ['response.queued'] : []),
    'response.in_progress',
    'response.output_item.added',
    'response.content_part.added',
    ...Array<string>(deltas).fill('response.output_text.delta'),
    'response.output_text.done',
    'response.content_part.done',
    'response.output_item.done',
    terminal,
  ];
}

/** Checks that sequence numbers run `first`, `first + 1`, … without a gap. */
export function expectSequence(events: Array<{ sequence_number: number }>, first = 0): void {
  const numbers = events.map((event) => event.sequence_number);
  const expected = numbers.map((_, i) => first + i);
  if (JSON.stringify(numbers) !== JSON.stringify(expected)) throw new Error(`sequence ${numbers.join(',')} is not ${expected.join(',')}`);
}

/** Retries `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  return until(
    check,
    (value) => value !== undefined,
    () => `timed out waiting for ${what}`,
    timeoutMs,
  ) as Promise<T>;
}

/** Polls `retrieve` until the response reaches `status`. */
export function waitForStatus(client: OpenAI, id: string, status: string): Promise<OpenAI.Responses.Response> {
  return waitFor(async () => {
    const response = await client.responses.retrieve(id);
    return response.status === status ? response : undefined;
  }, `${id} to be ${status}`);
}

/** The response id a lifecycle event (e.g. `response.created`) carries. */
export function responseIdOf(event: unknown): string {
  const id = (event as { response?: { id?: unknown } } | undefined)?.response?.id;
  if (typeof id !== 'string') throw new Error(`no response id in ${JSON.stringify(event)}`);
  return id;
}
