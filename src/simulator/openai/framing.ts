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

/** The JSON of an event as one stream sends it: without `obfuscation` when the caller turned it off. */
export function eventJson(event: StoredEvent, includeObfuscation: boolean): string {
  if (includeObfuscation || !('obfuscation' in event.payload)) return event.json;
  const { obfuscation: _, ...rest } = event.payload;
  return JSON.stringify(rest);
}
