import { inflateSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authHeaders, getJob, jobOf, postJob, readStream, startSimulator, streamReader, waitForStatus } from './helpers.ts';
import type { RunningSimulator } from './helpers.ts';

// A simulator per test: jobs an earlier test left running (channels, counters) must not be seen.
let s: RunningSimulator;
beforeEach(async () => {
  s = await startSimulator();
});
afterEach(() => s.close());

type Job = { jobid: string; status: string; request: Record<string, unknown>; response?: Record<string, unknown> };

async function createBackground(body: Record<string, unknown>): Promise<Job> {
  const response = await postJob(s.base, 'imagine', { stream: false, ...body });
  expect(response.status).toBe(201);
  return (await response.json()) as Job;
}

const cancel = (jobid: string) => fetch(`${s.base}/jobs/${jobid}`, { method: 'DELETE', headers: authHeaders() });
const overview = async () =>
  (await (await fetch(`${s.base}/jobs`, { headers: authHeaders() })).json()) as {
    channels: Record<string, { maxJobs: number; running: number; jobs: string[] }>;
    running: number;
  };

describe('stream:false', () => {
  it('answers 201 with the created job, which then completes in the background', async () => {
    const job = await createBackground({ prompt: 'a cat --sim-steps 2', replyRef: 'r1' });
    expect(job).toMatchObject({
      status: 'created',
      verb: 'imagine',
      request: { prompt: 'a cat --sim-steps 2', stream: false, replyRef: 'r1' },
    });
    expect(Object.keys(job).slice(0, 7)).toEqual(['jobid', 'verb', 'jobType', 'status', 'created', 'updated', 'request']);
    const done = await waitForStatus(s.base, job.jobid, 'completed');
    expect(Date.parse(done.updated as string)).toBeGreaterThanOrEqual(Date.parse(done.created as string));
  });

  it('runs settings verbs straight to a text response', async () => {
    const response = await postJob(s.base, 'info', { stream: false });
    const job = (await response.json()) as Job;
    const done = await waitForStatus(s.base, job.jobid, 'completed');
    expect(done.response).toEqual({ content: expect.stringContaining('Your info') });
  });

  it('accepts multipart bodies (blend uploads)', async () => {
    const form = new FormData();
    form.set('stream', 'false');
    form.set('imageBlob_1', new Blob([new Uint8Array(10)], { type: 'image/png' }), 'a.png');
    const response = await fetch(`${s.base}/jobs/blend`, { method: 'POST', headers: { Authorization: 'Bearer t' }, body: form });
    expect(response.status).toBe(201);
    expect(((await response.json()) as Job).request).toEqual({
      stream: 'false',
      imageBlob_1: { name: 'a.png', type: 'image/png', size: 10 },
    });
  });
});

describe('GET /jobs/:jobid', () => {
  it('finds a job id with ":" both raw and percent-encoded, and 404s unknown ids', async () => {
    const job = await createBackground({ prompt: 'x --sim-steps 0' });
    expect(job.jobid).toContain(':');
    for (const path of [job.jobid, encodeURIComponent(job.jobid), job.jobid.replace(':', '%3a')]) {
      const response = await getJob(s.base, path);
      expect(response.status).toBe(200);
      expect(((await response.json()) as Job).jobid).toBe(job.jobid);
    }
    const missing = await getJob(s.base, 'j0000000000000000000i-u1-c1-bot:midjourney');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'Job not found' });
  });
});

describe('capacity and cancel', () => {
  it('429s at maxJobs per channel and frees the slot on DELETE', async () => {
    const slow = (channel: string) => createBackground({ prompt: 'x --sim-interval 5000', channel });
    const jobs = [await slow('cap'), await slow('cap'), await slow('cap')];
    const full = await postJob(s.base, 'imagine', { prompt: 'x', channel: 'cap' });
    expect(full.status).toBe(429);
    expect(await full.json()).toEqual({ error: expect.stringContaining('cap') });
    const other = await slow('elsewhere');

    const listed = await overview();
    expect(listed.channels.cap).toEqual({ maxJobs: 3, running: 3, jobs: jobs.map((j) => j.jobid) });

    const deleted = await cancel(jobs[0]!.jobid);
    expect(deleted.status).toBe(200);
    expect(((await deleted.json()) as Job).status).toBe('cancelled');
    expect((await overview()).channels.cap?.running).toBe(2);
    jobs.push(await slow('cap'));

    for (const job of [...jobs.slice(1), other]) expect((await cancel(job.jobid)).status).toBe(200);
    const after = await overview();
    expect([after.channels.cap?.running ?? 0, after.channels.elsewhere?.running ?? 0]).toEqual([0, 0]);
  });

  it('DELETE ends the stream without a terminal event and 400s once the job is over', async () => {
    const response = await postJob(s.base, 'imagine', { prompt: 'x --sim-steps 20 --sim-interval 10' });
    const stream = streamReader(response);
    const first = await stream.until(2);
    const jobid = jobOf(first[1]!).jobid;
    const deleted = await cancel(jobid);
    expect(((await deleted.json()) as Job).status).toBe('cancelled');

    const all = (await stream.rest()).map((e) => e.event);
    expect(all.length).toBeLessThan(23);
    expect(
      all.every((e) => !e.startsWith('midjourney_') || ['midjourney_created', 'midjourney_started', 'midjourney_progress'].includes(e)),
    ).toBe(true);
    expect((await waitForStatus(s.base, jobid, 'cancelled')).status).toBe('cancelled');

    const again = await cancel(jobid);
    expect(again.status).toBe(400);
    expect((await cancel('nope:midjourney')).status).toBe(404);
  });
});

describe('images', () => {
  it('serves every imageUx and attachment URL as a PNG, without auth', async () => {
    const { events } = await readStream(await postJob(s.base, 'imagine', { prompt: 'x --sim-steps 0' }));
    const response = jobOf(events.at(-1)!).response as { attachments: Array<{ url: string }>; imageUx: Array<{ url: string }> };
    for (const { url } of [...response.attachments, ...response.imageUx]) {
      const image = await fetch(url);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/png');
      const bytes = new Uint8Array(await image.arrayBuffer());
      expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const idatLength = new DataView(bytes.buffer).getUint32(33);
      expect(inflateSync(bytes.subarray(41, 41 + idatLength)).length).toBeGreaterThan(0);
    }
    expect((await fetch(`${s.base}/_sim/images/abc/9.png`)).status).toBe(404);
  });

  it('gives upscale buttons a single image', async () => {
    const { events } = await readStream(await postJob(s.base, 'button', { jobId: 'j1:midjourney', button: 'U2', prompt: '--sim-steps 0' }));
    const response = jobOf(events.at(-1)!).response as { imageUx: Array<{ url: string }>; buttons: string[] };
    expect(response.imageUx).toHaveLength(1);
    expect(response.imageUx[0]!.url).toMatch(/\/2\.png$/);
    expect(response.buttons).toContain('Vary (Strong)');
  });
});

describe('/_sim/stats', () => {
  it('counts streams, jobs, polls and vendor requests, and resets', async () => {
    expect((await fetch(`${s.origin}/_sim/reset`, { method: 'POST' })).status).toBe(200);
    await readStream(await postJob(s.base, 'imagine', { prompt: 'x --sim-steps 0' }));
    const job = await createBackground({ prompt: 'x --sim-steps 0' });
    await getJob(s.base, job.jobid);
    await getJob(s.base, encodeURIComponent(job.jobid));
    await fetch(`${s.base}/jobs`); // unauthenticated: still recorded

    const stats = (await (await fetch(`${s.base}/_sim/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ streamsServed: 1, jobs: 2, polls: { [job.jobid]: 2 } });
    expect(stats.requests).toEqual([
      { method: 'POST', path: '/v3/midjourney/jobs/imagine', at: expect.any(String) },
      { method: 'POST', path: '/v3/midjourney/jobs/imagine', at: expect.any(String) },
      { method: 'GET', path: `/v3/midjourney/jobs/${job.jobid}`, at: expect.any(String) },
      { method: 'GET', path: `/v3/midjourney/jobs/${encodeURIComponent(job.jobid)}`, at: expect.any(String) },
      { method: 'GET', path: '/v3/midjourney/jobs', at: expect.any(String) },
    ]);
    expect(s.sim.stats()).toEqual({ ...stats, running: s.sim.stats().running });

    await fetch(`${s.base}/_sim/reset`, { method: 'POST' });
    expect(s.sim.stats()).toMatchObject({ streamsServed: 0, jobs: 0, requests: [], polls: {} });
  });
});
