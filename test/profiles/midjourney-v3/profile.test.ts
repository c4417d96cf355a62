import { describe, expect, it } from 'vitest';
import { midjourneyV3, parseMidjourneyEvent as parseEvent, vendorTimestamp } from '../../../src/profiles/midjourney-v3/profile.ts';

const synthesizeEvent = midjourneyV3.statusEvent;
const synthesizeErrorEvent = midjourneyV3.terminalEvent;

describe('parseEvent', () => {
  it('keeps the upstream JSON byte for byte and reads seq, name, job id', () => {
    const data = '{"event":"initialized","message":"Stream initialized","jobId":"j1:bot","seq":0,"ts":"22:41:58.458"}';
    expect(parseEvent(data)).toEqual({ seq: 0, type: 'initialized', data, terminal: false, jobId: 'j1:bot' });
  });

  it('reads job id and job object from lifecycle events, and marks terminal ones', () => {
    const data = '{"event":"midjourney_completed","job":{"jobid":"j2","status":"completed"},"seq":8,"ts":"x","extra":[1]}';
    const event = parseEvent(data);
    expect(event).toMatchObject({ seq: 8, type: 'midjourney_completed', terminal: true, jobId: 'j2' });
  });

  it.each([
    ['not json', 'not JSON'],
    ['[1,2]', 'not a JSON object'],
    ['{"seq":1}', 'missing event name'],
    ['{"event":"x"}', 'missing or invalid seq'],
    ['{"event":"x","seq":-1}', 'missing or invalid seq'],
    ['{"event":"x","seq":1.5}', 'missing or invalid seq'],
    ['{"event":"x","seq":"1"}', 'missing or invalid seq'],
  ])('rejects %s', (data, reason) => {
    expect(parseEvent(data)).toBe(reason);
  });

  it('bounds seq at 2^52, leaving headroom for the seqs the relay synthesizes', () => {
    expect(parseEvent(`{"event":"x","seq":${2 ** 52}}`)).toMatchObject({ seq: 2 ** 52 });
    expect(parseEvent(`{"event":"x","seq":${2 ** 52 + 1}}`)).toBe('seq out of range');
    expect(parseEvent(`{"event":"x","seq":${Number.MAX_SAFE_INTEGER}}`)).toBe('seq out of range');
  });
});

describe('synthesized events', () => {
  it('are in the vendor shape, named after the job status', () => {
    const now = new Date('2026-11-25T12:03:04.005Z');
    const event = synthesizeEvent(5, { jobid: 'j', status: 'completed' }, now);
    expect(JSON.parse(event.data)).toEqual({
      event: 'midjourney_completed',
      job: { jobid: 'j', status: 'completed' },
      seq: 5,
      ts: '12:03:04.005',
    });
    expect(event.terminal).toBe(true);
    expect(synthesizeEvent(6, { jobid: 'j', status: 'progress' }, now).terminal).toBe(false);
    const error = synthesizeErrorEvent(9, 'gone', now, { jobId: 'j', last: { jobid: 'j', status: 'progress' } });
    expect(JSON.parse(error.data)).toEqual({ event: 'error', jobId: 'j', seq: 9, ts: '12:03:04.005', error: 'gone' });
    // The relay reads it back as the job's terminal event.
    expect(parseEvent(error.data)).toMatchObject({ jobId: 'j', terminal: true, seq: 9 });
    expect(vendorTimestamp(now)).toBe('12:03:04.005');
  });
});
