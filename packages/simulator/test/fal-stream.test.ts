import { afterEach, describe, expect, it } from 'vitest';
import { falHeaders, getJson, openStatusStream, sseReader, statusesOf, submit, submitRaw, waitForFalStatus } from './fal-helpers.ts';
import type { Submitted } from './fal-helpers.ts';
import { startSimulator } from './helpers.ts';
import type { RunningSimulator } from './helpers.ts';

let s: RunningSimulator;
afterEach(() => s.close());

/** A request that holds the only runner slot (maxJobs 1) until it is cancelled, so the next one waits where a test wants it. */
const HOLD = { prompt: 'hold the slot --sim-queue 99 --sim-interval 60000' };

async function release(hold: Submitted): Promise<void> {
  const response = await fetch(hold.cancel_url, { method: 'PUT', headers: falHeaders() });
  expect(response.status).toBe(200);
}

const summary = (statuses: Array<{ status: string; queue_position?: number; logs?: Array<{ message: string }> }>) =>
  statuses.map((st) =>
    st.status === 'IN_QUEUE' ? `IN_QUEUE ${st.queue_position}` : `${st.status} [${st.logs?.map((l) => l.message).join(',')}]`,
  );

describe('fal status stream', () => {
  it('sends one data-only event per position change, state change and log line, and closes right after COMPLETED', async () => {
    s = await startSimulator({ maxJobs: 1 });
    const hold = await submit(s.origin, HOLD);
    const a = await submit(s.origin, { prompt: 'watched --sim-steps 2' });
    const response = await openStatusStream(a.status_url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('x-fal-request-id')).toBe(a.request_id);
    const reader = sseReader(response);
    await reader.until((seen) => seen.data.length >= 1);
    await release(hold);
    const { raw, data } = await reader.rest();

    const statuses = statusesOf(data);
    expect(statuses).toHaveLength(data.length);
    expect(summary(statuses)).toEqual([
      'IN_QUEUE 1',
      'IN_QUEUE 0',
      'IN_PROGRESS []',
      'IN_PROGRESS [step 1/2]',
      'IN_PROGRESS [step 2/2]',
      'COMPLETED []',
    ]);
    for (const status of statuses) {
      expect(status).toMatchObject({
        request_id: a.request_id,
        response_url: a.response_url,
        status_url: a.status_url,
        cancel_url: a.cancel_url,
      });
    }
    expect(statuses.at(-1)).toHaveProperty('metrics.inference_time');
    const blocks = raw.split('\n\n');
    expect(blocks.pop()).toBe(''); // the body ends with the COMPLETED frame's blank line, nothing after
    for (const block of blocks) expect(block).toMatch(/^(data: \{[^\n]*\}|: keep-alive)$/);
    expect(JSON.parse(blocks.at(-1)!.slice('data: '.length)).status).toBe('COMPLETED');
  });

  it('with logs=0 sends no log-line events and empty logs', async () => {
    s = await startSimulator({ maxJobs: 1 });
    const hold = await submit(s.origin, HOLD);
    const a = await submit(s.origin, { prompt: 'watched --sim-steps 2' });
    const reader = sseReader(await openStatusStream(a.status_url, false));
    await reader.until((seen) => seen.data.length >= 1);
    await release(hold);
    expect(summary(statusesOf((await reader.rest()).data))).toEqual(['IN_QUEUE 1', 'IN_QUEUE 0', 'IN_PROGRESS []', 'COMPLETED []']);
  });

  it('gives a late viewer every log so far in its first event, and two viewers the same events', async () => {
    s = await startSimulator();
    const a = await submit(s.origin, { prompt: 'steps --sim-queue 0 --sim-steps 99 --sim-interval 20' });
    const first = sseReader(await openStatusStream(a.status_url));
    await first.until((seen) => statusesOf(seen.data).some((st) => (st.logs?.length ?? 0) > 0));
    await fetch(a.cancel_url, { method: 'PUT', headers: falHeaders() });
    const second = sseReader(await openStatusStream(a.status_url));
    const [one, two] = await Promise.all([first.rest(), second.rest()]);
    const logsOf = (data: string[]) => statusesOf(data).flatMap((st) => st.logs?.map((l) => l.message) ?? []);
    const all = (await getJson(`${a.status_url}?logs=1`)).body.logs?.map((l) => l.message);
    expect(logsOf(one.data)).toEqual(all);
    expect(logsOf(two.data)).toEqual(all);
    expect(statusesOf(two.data).at(-1)).toMatchObject({ status: 'COMPLETED', error: 'Request was cancelled' });
  });

  it('sends one COMPLETED event and closes when the request is already completed at connect', async () => {
    s = await startSimulator();
    const a = await submit(s.origin, { prompt: 'quick --sim-steps 2' });
    await waitForFalStatus(a.status_url, 'COMPLETED');
    const { raw, data } = await sseReader(await openStatusStream(a.status_url)).rest();
    const statuses = statusesOf(data);
    expect(summary(statuses)).toEqual(['COMPLETED [step 1/2,step 2/2]']);
    expect(raw).toBe(`data: ${JSON.stringify(statuses[0])}\n\n`);
  });

  it('sends a keep-alive comment at the configured gap while nothing changes', async () => {
    s = await startSimulator({ maxJobs: 1, fal: { keepAliveMs: 10 } });
    const hold = await submit(s.origin, HOLD);
    const reader = sseReader(await openStatusStream(hold.status_url));
    const seen = await reader.until((read) => read.comments.length >= 2);
    expect(seen.comments.slice(0, 2)).toEqual(['keep-alive', 'keep-alive']);
    expect(seen.raw).toContain('\n\n: keep-alive\n\n');
    await release(hold);
    expect(statusesOf((await reader.rest()).data).at(-1)?.status).toBe('COMPLETED');
  });

  it('--sim-drop-after N ends the first stream after N events while the request goes on; a new stream gets the rest', async () => {
    s = await startSimulator({ maxJobs: 1 });
    const hold = await submit(s.origin, HOLD);
    const a = await submit(s.origin, { prompt: 'dropped --sim-drop-after 2 --sim-steps 1' });
    const reader = sseReader(await openStatusStream(a.status_url));
    await reader.until((seen) => seen.data.length >= 1);
    await release(hold);
    expect(summary(statusesOf((await reader.rest()).data))).toEqual(['IN_QUEUE 1', 'IN_QUEUE 0']);
    await waitForFalStatus(a.status_url, 'COMPLETED');
    expect(summary(statusesOf((await sseReader(await openStatusStream(a.status_url)).rest()).data))).toEqual(['COMPLETED [step 1/1]']);
  });

  it('--sim-silent-after N sends N events, then nothing (not even keep-alives), and keeps the stream open', async () => {
    s = await startSimulator({ maxJobs: 1, fal: { keepAliveMs: 10 } });
    const hold = await submit(s.origin, HOLD);
    const a = await submit(s.origin, { prompt: 'stalled --sim-silent-after 1 --sim-steps 2' });
    const reader = sseReader(await openStatusStream(a.status_url));
    await reader.until((seen) => seen.data.length >= 1);
    let ended = false;
    const rest = reader.rest().then((seen) => {
      ended = true;
      return seen;
    });
    await release(hold);
    await waitForFalStatus(a.status_url, 'COMPLETED');
    const again = statusesOf((await sseReader(await openStatusStream(a.status_url)).rest()).data);
    expect(again.map((st) => st.status)).toEqual(['COMPLETED']);
    expect(ended).toBe(false);
    s.sim.close(); // the only thing that ends it
    const seen = await rest;
    expect(summary(statusesOf(seen.data))).toEqual(['IN_QUEUE 1']);
    expect(seen.comments).toEqual([]);
  });

  it('--sim-garbage mixes junk into the stream; the status objects still end with COMPLETED, the last frame', async () => {
    s = await startSimulator({ maxJobs: 1 });
    const hold = await submit(s.origin, HOLD);
    const a = await submit(s.origin, { prompt: 'noisy --sim-garbage --sim-steps 5' });
    const reader = sseReader(await openStatusStream(a.status_url));
    await reader.until((seen) => statusesOf(seen.data).length >= 1);
    await release(hold);
    const { raw, data } = await reader.rest();
    const statuses = statusesOf(data);
    expect(statuses.at(-1)?.status).toBe('COMPLETED');
    expect(data.length).toBeGreaterThan(statuses.length);
    expect(data.some((d) => d.startsWith('{this is not json'))).toBe(true);
    expect(raw).toContain('event: foo');
    expect(raw).toContain('\r\n');
    expect(JSON.parse(data.at(-1)!).status).toBe('COMPLETED');
  });

  it('--sim-echo-token puts the key in a log line, the status error and the model error, and in a --sim-status rejection', async () => {
    s = await startSimulator();
    const a = await submit(s.origin, { prompt: 'leak --sim-echo-token --sim-outcome error' });
    const { data } = await sseReader(await openStatusStream(a.status_url)).rest();
    const statuses = statusesOf(data);
    expect(statuses.flatMap((st) => st.logs ?? []).some((l) => l.message.includes('Key test-key'))).toBe(true);
    expect(statuses.at(-1)?.error).toContain('Key test-key');
    expect(await (await fetch(a.response_url, { headers: falHeaders() })).text()).toContain('Key test-key');
    expect(await (await submitRaw(s.origin, { prompt: 'leak --sim-echo-token --sim-status 503' })).text()).toContain('Key test-key');
  });

  it('answers 404 for an unknown request, and close() ends every open stream', async () => {
    s = await startSimulator();
    const unknown = await openStatusStream(`${s.origin}/fal/queue/fal-ai/flux/requests/nope/status`);
    expect(unknown.status).toBe(404);
    const a = await submit(s.origin, HOLD);
    const reader = sseReader(await openStatusStream(a.status_url));
    await reader.until((seen) => seen.data.length >= 1);
    s.sim.close();
    expect(summary(statusesOf((await reader.rest()).data))).toEqual(['IN_QUEUE 98']);
  });
});
