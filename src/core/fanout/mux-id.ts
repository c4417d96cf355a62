/**
 * The multiplexed stream's composite event id: where every job of the stream is, in one
 * `Last-Event-ID`. Per job a 6-character key (a base36 FNV-1a hash of `<profile>/<id>`) and its
 * seq in base36; entries joined by `.`, e.g. `0k3x9a1f.2b7zq04`. An entry is 7 to 17 characters
 * (seq 0 to 2^53-1), 18 with its dot: a stream of 100 jobs has an id of at most 1.8 KB.
 */
import { RelayError } from '../errors.ts';
import { MAX_SEQ } from '../ingest/event.ts';

/** Characters of a job's key in the id. */
export const MUX_KEY_LENGTH = 6;
/** Longest entry of one job (key, seq up to MAX_SEQ in base36), without its dot. */
export const MUX_ENTRY_MAX_LENGTH = MUX_KEY_LENGTH + MAX_SEQ.toString(36).length;

const KEY_SPACE = 36 ** MUX_KEY_LENGTH;
const ENTRY = new RegExp(`^[0-9a-z]{${MUX_KEY_LENGTH + 1},${MUX_ENTRY_MAX_LENGTH}}$`);
const encoder = new TextEncoder();

/** A job's key in the id: FNV-1a (32 bits) of its name's UTF-8, in 6 base36 digits. */
export function muxKey(job: string): string {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(job)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % KEY_SPACE).toString(36).padStart(MUX_KEY_LENGTH, '0');
}

/** One job's entry: its key and seq. */
export function muxEntry(key: string, seq: number): string {
  return key + seq.toString(36);
}

/**
 * Reads a composite id (a client's `Last-Event-ID`) into each job's seq, by key. Empty: none.
 * Anything else that is not entries of the form above, or more than `maxEntries` of them, is a
 * 400 saying so. A key written twice tells nothing (two jobs whose keys collide): it is left out.
 */
export function decodeMuxId(raw: string, maxEntries: number): Map<string, number> {
  const seqs = new Map<string, number>();
  const text = raw.trim();
  if (text === '') return seqs;
  const bad = (why: string) => new RelayError('bad_request', `Last-Event-ID is not a multiplexed stream id: ${why}`);
  if (text.length > maxEntries * (MUX_ENTRY_MAX_LENGTH + 1)) throw bad(`longer than ${maxEntries} jobs' entries`);
  const entries = text.split('.');
  if (entries.length > maxEntries) throw bad(`more than ${maxEntries} entries`);
  const repeated = new Set<string>();
  for (const entry of entries) {
    if (!ENTRY.test(entry)) throw bad('entries are a 6-character key and a base36 seq, joined by "."');
    const key = entry.slice(0, MUX_KEY_LENGTH);
    const seq = Number.parseInt(entry.slice(MUX_KEY_LENGTH), 36);
    if (seq > MAX_SEQ) throw bad('a seq is out of range');
    if (seqs.has(key)) repeated.add(key);
    seqs.set(key, seq);
  }
  for (const key of repeated) seqs.delete(key);
  return seqs;
}
