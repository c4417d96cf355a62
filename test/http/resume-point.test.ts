import { describe, expect, it } from 'vitest';
import { RelayError } from '../../src/core/errors.ts';
import { MAX_SEQ, MAX_UPSTREAM_SEQ } from '../../src/core/ingest/event.ts';
import { resumePoint } from '../../src/http/subscription-response.ts';

describe('resumePoint', () => {
  it('accepts every seq a bus can store, up to MAX_SEQ', () => {
    expect(resumePoint(String(MAX_UPSTREAM_SEQ + 5), undefined)).toBe(MAX_UPSTREAM_SEQ + 5);
    expect(resumePoint(String(MAX_SEQ), undefined)).toBe(MAX_SEQ);
    expect(resumePoint(undefined, '7')).toBe(7);
    expect(resumePoint(undefined, undefined)).toBe(-1);
    expect(resumePoint('-5', undefined)).toBe(-1);
  });

  it.each(['9007199254740992', '12345678901234567', '1e3', 'x'])('refuses %s with a 400', (value) => {
    expect(() => resumePoint(value, undefined)).toThrow(RelayError);
  });
});
