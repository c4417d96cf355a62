import { fnv1a } from '../hash.ts';

const WORDS = [
  'streams',
  'relay',
  'every',
  'event',
  'once',
  'and',
  'replays',
  'history',
  'by',
  'sequence',
  'so',
  'a',
  'reload',
  'resumes',
  'where',
  'it',
  'left',
  'off',
  'while',
  'the',
  'key',
  'stays',
  'on',
  'server',
];
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A vendor-shaped id, `<prefix>_` and 48 hex digits (e.g. `resp_…`, `msg_…`, `req_…`). */
export function vendorId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `${prefix}_${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/** `count` text deltas derived from the input, the same for the same input: one word each, spaced like model output. */
export function answerDeltas(input: string, count: number): string[] {
  const seed = fnv1a(input);
  return Array.from({ length: count }, (_, i) => `${i === 0 ? '' : ' '}${WORDS[(seed + i) % WORDS.length]}`);
}

/** Token count of a text as the simulator bills it: its whitespace-separated words, at least 1. */
export function countTokens(text: string): number {
  return Math.max(1, text.split(/\s+/).filter(Boolean).length);
}

/** Random padding for a delta's `obfuscation` field, so every delta event is about the same size. */
export function obfuscation(delta: string): string {
  const length = Math.max(1, 16 - delta.length);
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => ALPHABET[byte % ALPHABET.length]).join('');
}
