import { garbageFramesFor } from '../garbage.ts';
import type { StoredEvent } from './event-log.ts';
import { eventFrame, eventPayload } from './framing.ts';

const LOOKALIKE = JSON.stringify({ type: 'response.in_progress', note: 'no sequence_number' });

/**
 * Frames for the `index`-th valid event of a stream under `--sim-garbage`: the shared junk (comments, non-JSON
 * data, an unknown event, JSON without `sequence_number`, a `retry:` line), then the event in the vendor's
 * framing, which may carry an unknown extra field, use CRLF, or arrive split across two chunks.
 */
export function garbageFrames(event: StoredEvent, index: number, includeObfuscation: boolean): Array<string | Uint8Array> {
  const payload = eventPayload(event, includeObfuscation);
  return garbageFramesFor(payload, index, LOOKALIKE, (json, eol) => eventFrame(event.type, json, eol));
}
