import type { StoredEvent } from './event-log.ts';

/** Headers of every OpenAI stream: the vendor's content type, no caching. */
export const OPENAI_SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
};

/** The vendor's frame: an `event:` line naming the type, one `data:` line of JSON, a blank line; no `id:` or `retry:`. */
export function eventFrame(type: string, json: string, eol = '\n'): string {
  return `event: ${type}${eol}data: ${json}${eol}${eol}`;
}

/** An event's fields as one stream sends them: without `obfuscation` when the caller turned it off. */
export function eventPayload(event: StoredEvent, includeObfuscation: boolean): Readonly<Record<string, unknown>> {
  if (includeObfuscation || !('obfuscation' in event.payload)) return event.payload;
  const { obfuscation: _, ...rest } = event.payload;
  return rest;
}

/** The JSON of {@link eventPayload}, the stored encoding when nothing is dropped. */
export function eventJson(event: StoredEvent, includeObfuscation: boolean): string {
  const payload = eventPayload(event, includeObfuscation);
  return payload === event.payload ? event.json : JSON.stringify(payload);
}
