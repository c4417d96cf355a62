import type { StoredEvent } from './event-log.ts';
import { splitInTwo } from '../garbage.ts';
import { eventFrame } from './framing.ts';

const JUNK = [
  ': simulator comment, not an event\n\n',
  'event: response.output_text.delta\ndata: {this is not json\n\n',
  'event: foo\ndata: {"type":"foo","note":"an event type the vendor does not send"}\n\n',
  'event: response.in_progress\ndata: {"type":"response.in_progress","note":"no sequence_number"}\n\n',
  'retry: 1000\nid: 7\n: another comment\r\n\r\n',
];

/**
 * Frames for the `index`-th valid event of a stream under `--sim-garbage`: junk a tolerant consumer must skip
 * (comments, non-JSON data, an unknown type, JSON without `sequence_number`, `retry:`/`id:` lines), then the
 * event itself, which may carry an unknown extra field, use CRLF, or arrive split across two chunks.
 */
export function garbageFrames(event: StoredEvent, json: string, index: number): Array<string | Uint8Array> {
  const valid = index % 2 === 0 ? `${json.slice(0, -1)},"sim_unknown":{"note":"consumers must ignore unknown fields"}}` : json;
  const frame = eventFrame(event.type, valid, index % 2 === 1 ? '\r\n' : '\n');
  const frames: Array<string | Uint8Array> = [JUNK[index % JUNK.length] ?? ''];
  if (index % 3 === 2) frames.push(...splitInTwo(frame));
  else frames.push(frame);
  return frames;
}
