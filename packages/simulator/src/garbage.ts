import type { SimEvent } from './events.ts';
import { formatTs } from './events.ts';
import { dataFrame } from './sse-sink.ts';

const JUNK_CYCLE = 5;

/**
 * Frames for the `index`-th valid event under `--sim-garbage`: junk a tolerant consumer must skip
 * (comments, non-JSON data, an `event: foo` block, JSON without `seq`, a `retry:` line), then the valid
 * event itself, which may carry an unknown extra field, use CRLF, or arrive split across two chunks.
 */
export function garbageFrames(event: SimEvent, index: number, at: number): Array<string | Uint8Array> {
  return garbageFramesFor(event, index, JSON.stringify({ event: 'midjourney_progress', ts: formatTs(at) }));
}

/**
 * The same mix for any vendor's payload; `lookalike` is JSON that looks like the vendor's but lacks what makes it
 * valid, and `frame` writes the valid event as the vendor frames it (default: one `data:` line).
 */
export function garbageFramesFor(
  payload: object,
  index: number,
  lookalike: string,
  frame: (json: string, eol: string) => string = dataFrame,
): Array<string | Uint8Array> {
  const valid = index % 2 === 0 ? { ...payload, sim_unknown: { note: 'consumers must ignore unknown fields' } } : payload;
  const framed = frame(JSON.stringify(valid), index % 2 === 1 ? '\r\n' : '\n');
  const frames: Array<string | Uint8Array> = [junk(index, lookalike)];
  if (index % 3 === 2) frames.push(...splitInTwo(framed));
  else frames.push(framed);
  return frames;
}

function junk(index: number, lookalike: string): string {
  switch (index % JUNK_CYCLE) {
    case 0:
      return ': simulator comment, not an event\n\n';
    case 1:
      return 'data: {this is not json\n\n';
    case 2:
      return 'event: foo\ndata: {"note":"an event type the vendor does not send"}\n\n';
    case 3:
      return dataFrame(lookalike);
    default:
      return 'retry: 1000\n: another comment\r\n\r\n';
  }
}

function splitInTwo(frame: string): Uint8Array[] {
  const bytes = new TextEncoder().encode(frame);
  const middle = Math.floor(bytes.length / 2);
  return [bytes.slice(0, middle), bytes.slice(middle)];
}
