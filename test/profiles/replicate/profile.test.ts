import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../src/core/ingest/event.ts';
import { vendorEventsOf } from '../../../src/profiles/replicate/events.ts';
import { EARLY_END_DETAIL, parseReplicateMessage, replicate } from '../../../src/profiles/replicate/profile.ts';
import { parseCreateBody, preferredWaitS } from '../../../src/profiles/replicate/routes.ts';

const created = {
  id: 'p1',
  model: 'meta/llama',
  status: 'starting',
  input: { prompt: 'hi' },
  output: null,
  logs: '',
  error: null,
  created_at: '2026-12-07T10:00:00.000Z',
  urls: { get: 'https://api.replicate.com/v1/predictions/p1', stream: 'https://streaming.api.replicate.com/v1/predictions/p1?x=1' },
};

/** The events a stored event stands for on the drop-in stream, as `event data` strings. */
const dropIn = (event: JobEvent | undefined) => vendorEventsOf(event?.data ?? '{}').map((e) => `${e.event} ${e.data}`);

/** Streams `messages` after the create's answer, as the follower does: each event with the prediction as it stands. */
function streamed(messages: Array<[string, string]>): JobEvent[] {
  let last: Record<string, unknown> | undefined = created;
  return messages.map(([event, data], i) => {
    const parsed = parseReplicateMessage(data, event, i + 1);
    if (typeof parsed === 'string') throw new Error(parsed);
    const stored = replicate.unseenPart(parsed, last) as JobEvent;
    last = stored.job;
    return stored;
  });
}

describe('replicate profile', () => {
  it('stores the create’s answer as seq 0, with nothing for the drop-in stream, and names the prediction', () => {
    const reply = { status: 201, body: created };
    expect(replicate.startedJobId(reply)).toBe('p1');
    expect(replicate.startedJobId({ status: 422, body: { detail: 'bad' } })).toBeUndefined();
    const first = replicate.startedEvent(reply);
    expect(first).toMatchObject({ seq: 0, type: 'status', terminal: false, job: created });
    expect(JSON.parse(first?.snapshot ?? '')).toEqual(created);
    expect(dropIn(first)).toEqual([]);
    // The frames never name the vendor's stream URL (it needs no key); the snapshot keeps it for the follower.
    expect(first?.data).not.toContain('streaming.api.replicate.com');
  });

  it('numbers streamed events itself and builds the prediction from them: output pieces, log lines, the end', () => {
    const events = streamed([
      ['logs', 'loading'],
      ['output', 'Hel'],
      ['output', 'lo'],
      ['done', '{}'],
    ]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(events.map((e) => e.terminal)).toEqual([false, false, false, true]);
    expect(events.at(-1)?.job).toMatchObject({ id: 'p1', status: 'succeeded', output: ['Hel', 'lo'], logs: 'loading\n' });
    expect(events.flatMap(dropIn)).toEqual(['logs loading', 'output Hel', 'output lo', 'done {}']);
    // Replicate's own ids are not seqs: an unknown event name is malformed, not stored.
    expect(parseReplicateMessage('x', 'foo', 5)).toBe('unknown event foo');
  });

  it('ends a streamed prediction by the reason of its done event', () => {
    expect(streamed([['done', '{"reason":"canceled"}']])[0]?.job?.status).toBe('canceled');
    const failed = streamed([
      ['error', '{"detail":"boom"}'],
      ['done', '{"reason":"error"}'],
    ]);
    expect(failed.at(-1)?.job).toMatchObject({ status: 'failed', error: 'boom' });
  });

  it('turns polled changes into what the stream would have said: new log lines, then new output, then the end', () => {
    const processing = { ...created, status: 'processing', logs: 'step 1/2\n' };
    const first = replicate.unseenPart(replicate.statusEvent(1, processing), created);
    expect(dropIn(first)).toEqual(['logs step 1/2']);
    // Nothing new: no event (it takes no seq).
    expect(replicate.unseenPart(replicate.statusEvent(2, processing), processing)).toBeUndefined();
    const done = { ...processing, status: 'succeeded', logs: 'step 1/2\nstep 2/2\n', output: ['https://x/1.png'] };
    const last = replicate.unseenPart(replicate.statusEvent(2, done), processing);
    expect(last?.terminal).toBe(true);
    expect(dropIn(last)).toEqual(['logs step 2/2', 'output https://x/1.png', 'done {}']);
    const failed = replicate.unseenPart(replicate.statusEvent(2, { ...processing, status: 'failed', error: 'oom' }), processing);
    expect(dropIn(failed)).toEqual(['error {"detail":"oom"}', 'done {"reason":"error"}']);
    // Output pieces a stream already gave are not given again by a poll after a drop.
    const after = replicate.unseenPart(replicate.statusEvent(5, { ...created, status: 'processing', output: ['a', 'b', 'c'] }), {
      ...created,
      status: 'processing',
      output: ['a'],
    });
    expect(dropIn(after)).toEqual(['output b', 'output c']);
  });

  it('opens the prediction’s stream only while nothing but the create’s answer is stored, and never without a stream URL', () => {
    expect(replicate.streamRequest('p1', { lastSeq: 0, last: created })).toEqual({
      method: 'GET',
      origin: 'https://streaming.api.replicate.com',
      path: '/v1/predictions/p1?x=1',
      stream: true,
    });
    expect(replicate.streamRequest('p1', { lastSeq: 3, last: created })).toBeUndefined();
    // Taken over with a polled first state that already has output: the stream could repeat it.
    expect(replicate.streamRequest('p1', { lastSeq: 0, last: { ...created, status: 'processing', output: ['a'] } })).toBeUndefined();
    expect(replicate.streamRequest('p1', { lastSeq: 0, last: { ...created, urls: {} } })).toBeUndefined();
    expect(replicate.streamRequest('p1')).toBeUndefined();
  });

  it('keeps the final prediction fetched at the end, unless Replicate already removed its data', () => {
    const [done] = streamed([['done', '{}']]);
    const final = { ...created, status: 'succeeded', output: ['x'], metrics: { predict_time: 1.5 } };
    const kept = replicate.withResult(done as JobEvent, { status: 200, body: final });
    expect(kept.job).toEqual(final);
    expect(JSON.parse(kept.data)).toMatchObject({ event: 'done', data: '{}', prediction: { metrics: { predict_time: 1.5 } } });
    const removed = replicate.withResult(done as JobEvent, { status: 200, body: { ...final, output: null, data_removed: true } });
    expect(removed.job).toMatchObject({ status: 'succeeded', input: { prompt: 'hi' } });
    const lagging = replicate.withResult(done as JobEvent, { status: 200, body: { ...final, status: 'processing' } });
    expect(lagging.job?.status).toBe('succeeded');
  });

  it('synthesizes a failed prediction in Replicate’s shape, keeping what it had, and an error for a stream cut short', () => {
    const last = { ...created, status: 'processing', output: ['a'] };
    const ended = replicate.terminalEvent(7, 'relay gave up', new Date('2026-12-07T11:00:00Z'), { jobId: 'p1', last });
    expect(ended).toMatchObject({ seq: 7, terminal: true, job: { id: 'p1', status: 'failed', error: 'relay gave up', output: ['a'] } });
    expect(dropIn(ended)).toEqual(['error {"detail":"relay gave up"}', 'done {"reason":"error"}']);
    expect(JSON.parse(replicate.dropInFrames.earlyEnd())).toEqual({ detail: EARLY_END_DETAIL });
    expect(replicate.createdAt(created)).toBe(Date.parse('2026-12-07T10:00:00.000Z'));
  });

  it('reads stored snapshots and envelopes back, and refuses what is neither', () => {
    expect(parseReplicateMessage(JSON.stringify(created), undefined, 0)).toMatchObject({ job: created });
    expect(parseReplicateMessage('{"note":1}', undefined, 0)).toBe('not a prediction');
    expect(parseReplicateMessage('{nope', undefined, 0)).toBe('not JSON');
  });

  it('reads Prefer: wait as the client sends it, and a create’s body', () => {
    expect(preferredWaitS('wait')).toBe(60);
    expect(preferredWaitS('wait=5')).toBe(5);
    expect(preferredWaitS('respond-async, wait=120')).toBe(60);
    expect(preferredWaitS('wait=0')).toBe(1);
    expect(preferredWaitS(undefined)).toBeUndefined();
    expect(preferredWaitS('waiting')).toBeUndefined();
    expect(() => parseCreateBody('{"input":{}}', true)).toThrow(/version is required/);
    expect(() => parseCreateBody('{"version":"v","input":[1]}', true)).toThrow(/input must be an object/);
    expect(() => parseCreateBody('[]', false)).toThrow();
    expect(parseCreateBody('{"input":{"prompt":"x"}}', false)).toEqual({ input: { prompt: 'x' } });
  });
});
