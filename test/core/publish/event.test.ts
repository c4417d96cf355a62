import { describe, expect, it } from 'vitest';
import {
  FIRST_BATCH,
  PUBLISHED_FRAMES,
  checkPublishedBatch,
  envelopeOf,
  latestOf,
  parsePublishedEvent,
  readPublishedEvent,
} from '../../../src/core/publish/event.ts';

const limits = { maxEventBytes: 64 };
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('not refused');
};

describe('published events', () => {
  it('reads data of any JSON type, a name, a seq and the terminal flag', () => {
    expect(readPublishedEvent({ data: null }, 'event', limits)).toEqual({ data: 'null', terminal: false });
    expect(readPublishedEvent({ data: { a: [1, 'x'] }, event: 'progress', seq: 7, terminal: true }, 'event', limits)).toEqual({
      data: '{"a":[1,"x"]}',
      event: 'progress',
      seq: 7,
      terminal: true,
    });
  });

  it('names the event and the problem, never echoing a value', () => {
    const cases: [unknown, string][] = [
      [[1], 'e: must be a JSON object {"data": …}'],
      [{}, 'e: data is required (any JSON value)'],
      [{ data: 1, extra: 'secret-value' }, 'e: unknown field "extra" (expected data, event, seq, terminal)'],
      [{ data: 1, event: 'two words' }, 'e: event must be a name of 1-64 printable characters without spaces, other than gap'],
      [{ data: 1, seq: 1.5 }, 'e: seq must be an integer from 0 to 4503599627370496'],
      [{ data: 1, seq: -1 }, 'e: seq must be an integer from 0 to 4503599627370496'],
      [{ data: 1, terminal: 'yes' }, 'e: terminal must be true or false'],
    ];
    for (const [value, message] of cases)
      expect(refusal(() => readPublishedEvent(value, 'e', limits))).toMatchObject({ code: 'bad_request', message });
    expect(refusal(() => readPublishedEvent({ data: 'x'.repeat(70) }, 'e', limits))).toMatchObject({
      code: 'payload_too_large',
      message: 'e: data exceeds 64 bytes',
    });
    expect(refusal(() => parsePublishedEvent('{"data":', 'line 3', limits))).toMatchObject({ message: 'line 3: not valid JSON' });
    expect(refusal(() => parsePublishedEvent(`${'['.repeat(70)}${']'.repeat(70)}`, 'line 4', { maxEventBytes: 1000 }))).toMatchObject({
      message: 'line 4: nests deeper than 64 levels',
    });
  });

  it('checks a batch after the ones before it: all numbered or none, seqs going up, nothing after the end', () => {
    const event = (seq?: number, terminal = false) => ({ data: '1', terminal, ...(seq === undefined ? {} : { seq }) });
    const name = (index: number) => `#${index}`;
    const state = checkPublishedBatch([event(1), event(4)], FIRST_BATCH, name);
    expect(state).toEqual({ numbered: true, lastSeq: 4, ended: false });
    expect(refusal(() => checkPublishedBatch([event(4)], state, name)).message).toBe('#0: seq 4 does not go up (after 4)');
    expect(refusal(() => checkPublishedBatch([event(5), event()], state, name)).message).toBe(
      '#1: every event of one request has a seq, or none has',
    );
    const ended = checkPublishedBatch([event(5, true)], state, name);
    expect(refusal(() => checkPublishedBatch([event(6)], ended, name)).message).toBe('#0: comes after the terminal event');
    expect(checkPublishedBatch([event(), event()], FIRST_BATCH, name)).toEqual({ numbered: false, lastSeq: -1, ended: false });
  });

  it("frames the publisher's data and name out of the stored envelope, redacted", () => {
    const stored = envelopeOf({ data: '{"note":"key sk-123456789"}', event: 'progress', terminal: false }, 1000, (text) =>
      text.replace('sk-123456789', '[redacted]'),
    );
    expect(JSON.parse(stored)).toEqual({ ts: 1000, event: 'progress', data: { note: 'key [redacted]' } });
    expect(PUBLISHED_FRAMES.frameData?.(stored)).toBe('{"note":"key [redacted]"}');
    expect(PUBLISHED_FRAMES.eventName?.(stored)).toBe('progress');
    expect(latestOf({ seq: 3, data: stored, terminal: true })).toEqual({
      seq: 3,
      event: 'progress',
      data: { note: 'key [redacted]' },
      terminal: true,
      published_at: '1970-01-01T00:00:01.000Z',
    });
    // A redaction that breaks the JSON (a secret outside a string) leaves a marker, never the rest.
    const broken = envelopeOf({ data: '12345678901234', terminal: false }, 0, (text) => text.replace('12345678901234', '[redacted]'));
    expect(PUBLISHED_FRAMES.frameData?.(broken)).toBe('"[redacted]"');
  });
});
