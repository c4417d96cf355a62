/** SSE framing of the relay's own output: every byte a subscriber receives is built here. */
import type { FrameStyle } from '../profile.ts';

const encoder = new TextEncoder();

/** Response headers of every SSE stream the relay serves. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
};

const LINE_BREAK = /\r\n|\r|\n/;

/** Strips CR/LF so a value can never start a new SSE field. */
function singleLine(value: string): string {
  return value.replace(/[\r\n]/g, '');
}

/** The end of an event's frame: one `data:` line per data line, then the blank line. */
export function dataLinesText(data: string): string {
  let text = '';
  for (const line of data.split(LINE_BREAK)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/** Frame text for one event: `id:`, optional `event:`, one `data:` line per data line. */
export function eventFrameText(id: string | number, data: string, event?: string): string {
  let text = `id: ${singleLine(String(id))}\n`;
  if (event !== undefined) text += `event: ${singleLine(event)}\n`;
  return text + dataLinesText(data);
}

/** One event, encoded once, ready to be written to every subscriber. */
export function encodeEvent(id: string | number, data: string, event?: string): Uint8Array {
  return encoder.encode(eventFrameText(id, data, event));
}

/** A stored event's frame in a style: the vendor events it stands for, each with the seq as `id:`, or its data named by `eventName`. */
export function encodeStyled(style: FrameStyle, seq: number, data: string): Uint8Array {
  if (!style.vendorEvents) return encodeEvent(seq, style.frameData?.(data) ?? data, style.eventName?.(data));
  return encoder.encode(
    style
      .vendorEvents(data)
      .map((vendor) => eventFrameText(seq, vendor.data, vendor.event))
      .join(''),
  );
}

/** An event without an id (so it does not move the client's Last-Event-ID). */
export function encodeUnnumberedEvent(event: string, data: string): Uint8Array {
  return encoder.encode(`event: ${singleLine(event)}\n${dataLinesText(data)}`);
}

/** A comment line: ignored by clients, keeps proxies from closing idle streams. */
export function encodeComment(text = ''): Uint8Array {
  const lines = text.split(LINE_BREAK).map((line) => `:${line ? ` ${line}` : ''}\n`);
  return encoder.encode(`${lines.join('')}\n`);
}

/** The reconnection delay a client should use, in milliseconds. */
export function encodeRetry(ms: number): Uint8Array {
  // Every stream of a process starts with the same one: made once, shared like any frame (never written to).
  if (ms !== lastRetryMs || lastRetry === undefined) {
    lastRetry = encoder.encode(`retry: ${Math.max(0, Math.floor(ms))}\n\n`);
    lastRetryMs = ms;
  }
  return lastRetry;
}
let lastRetryMs = -1;
let lastRetry: Uint8Array | undefined;

/**
 * The data of a frame `encodeEvent(id, data)` made without an event name, as bytes: its data lines
 * without the `data: ` opening the first and the line end and blank line closing the last. Framing
 * that data anew (the multiplexed stream) reuses the cached frame's bytes instead of encoding them again.
 */
export function frameDataBytes(frame: Uint8Array, id: string | number): Uint8Array {
  return frame.subarray(`id: ${id}\ndata: `.length, frame.byteLength - 2);
}
