import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../src/core/errors.ts';
import { MUX_ENTRY_MAX_LENGTH, decodeMuxId, muxEntry, muxKey } from '../../../src/core/fanout/mux-id.ts';
import { MAX_SEQ } from '../../../src/core/ingest/event.ts';

const badRequest = (raw: string, max = 100) => {
  try {
    decodeMuxId(raw, max);
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).code).toBe('bad_request');
    return (err as RelayError).message;
  }
  throw new Error(`${JSON.stringify(raw)} was accepted`);
};

describe('the composite id', () => {
  it('keys a job by 6 base36 characters, the same every time, different for different jobs', () => {
    const key = muxKey('midjourney-v3/j1');
    expect(key).toMatch(/^[0-9a-z]{6}$/);
    expect(muxKey('midjourney-v3/j1')).toBe(key);
    const keys = new Set(Array.from({ length: 1000 }, (_, i) => muxKey(`fal-queue/fal-ai:flux:${i}`)));
    expect(keys.size).toBe(1000);
    // FNV-1a of the UTF-8: the empty name is the offset basis, 2166136261, in 6 digits (mod 36^6).
    expect(muxKey('')).toBe((2166136261 % 36 ** 6).toString(36).padStart(6, '0'));
  });

  it('round-trips every job’s seq, from 0 to MAX_SEQ, in 7 to 17 characters per entry', () => {
    const seqs = [0, 1, 35, 36, 1295, 1296, 123_456_789, MAX_SEQ];
    const entries = seqs.map((seq, i) => muxEntry(muxKey(`p/j${i}`), seq));
    expect(entries[0]).toHaveLength(7);
    expect(entries.at(-1)).toHaveLength(MUX_ENTRY_MAX_LENGTH);
    expect(MUX_ENTRY_MAX_LENGTH).toBe(17);
    const decoded = decodeMuxId(entries.join('.'), 100);
    expect(seqs.map((_, i) => decoded.get(muxKey(`p/j${i}`)))).toEqual(seqs);
  });

  it('treats an empty or blank id as none', () => {
    expect(decodeMuxId('', 5).size).toBe(0);
    expect(decodeMuxId('  ', 5).size).toBe(0);
    expect(decodeMuxId(' abcdef1 ', 5).get('abcdef')).toBe(1);
  });

  it('leaves out a key written twice (two jobs whose keys collide): it tells nothing', () => {
    const decoded = decodeMuxId('abcdef1.abcdef2.zzzzzz3', 5);
    expect(decoded.has('abcdef')).toBe(false);
    expect(decoded.get('zzzzzz')).toBe(3);
  });

  it('answers anything else with a 400 saying what a composite id is, never a crash', () => {
    const cases = [
      '12', // a single-job stream's seq
      'abcdef', // a key without a seq
      'abcdef1.', // an empty entry
      '.abcdef1',
      'abcdef1..abcdef2',
      'ABCDEF1', // upper case
      'abcdef-1',
      'abc def1',
      'abcdef1,abcdef2',
      `abcdef${'z'.repeat(11)}`, // a seq past 2^53
      `abcdef${'1'.repeat(12)}`, // too many digits
      'abcdéf1',
      '\u0000abcdef1',
      'abcdef1\nid: x',
    ];
    for (const raw of cases) expect(badRequest(raw)).toMatch(/^Last-Event-ID is not a multiplexed stream id: /);
  });

  it('refuses more entries than the stream may carry, before reading them', () => {
    const three = ['aaaaaa1', 'bbbbbb2', 'cccccc3'].join('.');
    expect(decodeMuxId(three, 3).size).toBe(3);
    expect(badRequest(three, 2)).toMatch(/more than 2 entries/);
    expect(badRequest('a'.repeat(10_000_000), 100)).toMatch(/longer than 100 jobs/);
  });
});
