import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, jobOf, parseSse, postJob, streamReader, readStream, startSimulator, waitForStatus } from './helpers.ts';
import type { RunningSimulator, VendorEvent } from './helpers.ts';

let s: RunningSimulator;
beforeAll(async () => {
  s = await startSimulator();
});
afterAll(() => s.close());

const TERMINAL = ['midjourney_completed', 'midjourney_failed', 'midjourney_moderated', 'error'];

function expectIncreasingSeq(events: VendorEvent[]): void {
  expect(events[0]?.seq).toBe(0);
  for (let i = 1; i < events.length; i++) expect(events[i]!.seq).toBeGreaterThan(events[i - 1]!.seq);
}

describe('stream:true', () => {
  it('sends initialized, created, started, progress, completed as bare data lines', async () => {
    const response = await postJob(s.base, 'imagine', { prompt: 'a cat in a hat --sim-interval 0' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const { raw, events } = await readStream(response);

    const frames = raw.split('\n\n').filter(Boolean);
    for (const frame of frames) expect(frame).toMatch(/^data: \{"event":"[a-z_]+",[^\n]*\}$/);
    expect(frames).toHaveLength(events.length);

    expect(events.map((e) => e.event)).toEqual([
      'initialized',
      'midjourney_created',
      'midjourney_started',
      ...Array<string>(4).fill('midjourney_progress'),
      'midjourney_completed',
    ]);
    expectIncreasingSeq(events);
    expect(events.some((e, i) => i > 0 && e.seq - events[i - 1]!.seq > 1)).toBe(true); // one seq gap, as the vendor allows
    for (const e of events) expect(e.ts).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);

    const [initialized, created] = events;
    const jobid = jobOf(created!).jobid;
    expect(initialized).toEqual({ event: 'initialized', message: 'Stream initialized', jobId: jobid, seq: 0, ts: initialized!.ts });
    expect(jobid).toMatch(/^j\d{19}i-u\d+-c\d{19}-bot:midjourney$/);
    expect(jobOf(created!)).toMatchObject({
      verb: 'imagine',
      jobType: 'image',
      status: 'created',
      request: { prompt: 'a cat in a hat --sim-interval 0' },
    });

    const percents = events.filter((e) => e.event === 'midjourney_progress').map((e) => jobOf(e).response?.progress_percent as number);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(new Set(percents).size).toBe(percents.length);
    expect(Math.max(...percents)).toBeLessThan(100);
  });

  it('completes with attachments, imageUx and buttons', async () => {
    const { events } = await readStream(await postJob(s.base, 'imagine', { prompt: 'a dog --sim-steps 1' }));
    const job = jobOf(events.at(-1)!);
    expect(job.status).toBe('completed');
    const response = job.response as { attachments: unknown[]; imageUx: Array<{ id: number; url: string }>; buttons: string[] };
    expect(response.attachments).toEqual([
      expect.objectContaining({ url: expect.stringMatching(/\/0\.png$/), width: 128, height: 128, content_type: 'image/png' }),
    ]);
    expect(response.imageUx.map((i) => i.id)).toEqual([1, 2, 3, 4]);
    expect(response.imageUx[0]!.url.startsWith(`${s.base}/_sim/images/`)).toBe(true);
    expect(response.buttons).toEqual(['U1', 'U2', 'U3', 'U4', '🔄', 'V1', 'V2', 'V3', 'V4']);
  });

  it.each([
    ['completed', 'midjourney_completed', 'completed'],
    ['failed', 'midjourney_failed', 'failed'],
    ['moderated', 'midjourney_moderated', 'moderated'],
    ['error', 'error', 'failed'],
  ])('ends --sim-outcome %s with exactly one %s', async (outcome, terminal, finalStatus) => {
    const { events } = await readStream(await postJob(s.base, 'imagine', { prompt: `x --sim-steps 2 --sim-outcome ${outcome}` }));
    expect(events.filter((e) => TERMINAL.includes(e.event)).map((e) => e.event)).toEqual([terminal]);
    const last = events.at(-1)!;
    expect(last.event).toBe(terminal);
    expectIncreasingSeq(events);
    if (terminal === 'error') {
      expect(Object.keys(last)).toEqual(['event', 'error', 'seq', 'ts']);
    } else if (outcome !== 'completed') {
      expect(jobOf(last).error).toEqual(expect.any(String));
    }
    const jobid = jobOf(events[1]!).jobid;
    expect((await waitForStatus(s.base, jobid, finalStatus)).status).toBe(finalStatus);
  });

  it('--sim-echo-token leaks the caller token into the job and the error event', async () => {
    const response = await fetch(`${s.base}/jobs/imagine`, {
      method: 'POST',
      headers: authHeaders('tok-SEKRIT-42'),
      body: JSON.stringify({ prompt: 'x --sim-steps 0 --sim-outcome error --sim-echo-token' }),
    });
    const { events } = await readStream(response);
    expect(jobOf(events[1]!).errorDetails).toContain('tok-SEKRIT-42');
    expect(events.at(-1)!.error).toContain('tok-SEKRIT-42');
  });

  it('--sim-drop-after closes the stream early while the job runs to its end', async () => {
    const { raw, events } = await readStream(await postJob(s.base, 'imagine', { prompt: 'x --sim-drop-after 3 --sim-steps 3' }));
    expect(events.map((e) => e.event)).toEqual(['initialized', 'midjourney_created', 'midjourney_started']);
    expect(raw.endsWith('\n\n')).toBe(true); // a clean end of body after a whole frame
    const job = await waitForStatus(s.base, jobOf(events[1]!).jobid, 'completed');
    expect(job.response).toMatchObject({ imageUx: expect.any(Array) });
  });

  it('--sim-garbage mixes junk into the stream and keeps every valid event intact and in order', async () => {
    const prompt = 'un chat élégant 🐱 --sim-garbage --sim-steps 4 --sim-interval 0';
    const { raw, events } = await readStream(await postJob(s.base, 'imagine', { prompt }));
    expect(raw).toContain(': simulator comment');
    expect(raw).toContain('data: {this is not json\n');
    expect(raw).toContain('event: foo\n');
    expect(raw).toContain('retry: 1000\n');
    expect(raw).toContain('\r\n\r\n');

    const messages = parseSse(raw);
    expect(messages.some((m) => m.event === 'foo')).toBe(true);
    expect(messages.length).toBeGreaterThan(events.length);
    const missingSeq = messages.filter((m) => m.data.startsWith('{"event"') && !m.data.includes('"seq"'));
    expect(missingSeq.length).toBeGreaterThan(0);

    expect(events.map((e) => e.event)).toEqual([
      'initialized',
      'midjourney_created',
      'midjourney_started',
      ...Array<string>(4).fill('midjourney_progress'),
      'midjourney_completed',
    ]);
    expectIncreasingSeq(events);
    expect(events.some((e) => 'sim_unknown' in e)).toBe(true);
    for (const e of events.slice(1)) expect(jobOf(e).request).toEqual({ prompt });
  });

  it('keeps the job running when the consumer aborts mid-stream', async () => {
    const abort = new AbortController();
    const response = await postJob(s.base, 'imagine', { prompt: 'x --sim-steps 3 --sim-interval 20' }, { signal: abort.signal });
    const events = await streamReader(response).until(3);
    abort.abort();
    const jobid = jobOf(events[1]!).jobid;
    expect((await waitForStatus(s.base, jobid, 'completed')).status).toBe('completed');
    expect((await fetch(`${s.base}/jobs`, { headers: authHeaders() })).status).toBe(200);
  });
});
