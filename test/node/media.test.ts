import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, withDevDefaults } from '../../src/config.ts';
import { createMemoryBus } from '../../src/core/bus/memory-bus.ts';
import { type Gateway, startGateway } from '../../src/node/gateway.ts';
import { falScenarioProfile, midjourneyScenarioProfile, openaiScenarioProfile, type ScenarioProfile } from '../scenarios/profiles.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { API_KEY, SECURED, withKey } from '../support/security.ts';
import { readSse } from '../support/sse.ts';

const mediaPath = (profile: string, jobId: string, n: number | string) => `/v1/jobs/${profile}/${encodeURIComponent(jobId)}/media/${n}`;

/** Starts a short simulator job and reads its stream to the end; its id and the data of its events. */
async function finishedJob(url: string, profile: ScenarioProfile, label: string) {
  const jobId = await profile.startJob(url, { steps: 1, intervalMs: 5, label });
  const stream = await readSse(`${url}/v1/jobs/${profile.name}/${encodeURIComponent(jobId)}/stream`);
  expect(stream.events.some((event) => profile.isTerminal(event.data))).toBe(true);
  return { jobId, events: stream.events.map((event) => JSON.parse(event.data) as Record<string, unknown>) };
}

const bytes = async (response: Response) => new Uint8Array(await response.arrayBuffer());

describe('media proxy: a job’s own media, from the simulator (open mode)', () => {
  let gw: TestGateway;
  let mj: { jobId: string; urls: string[] };
  beforeAll(async () => {
    gw = await startTestGateway();
    const { jobId, events } = await finishedJob(gw.url, midjourneyScenarioProfile, 'media cat');
    const completed = events[events.length - 1] as { job: { response: { imageUx: { url: string }[]; attachments: { url: string }[] } } };
    const { response } = completed.job;
    mj = { jobId, urls: [...response.imageUx.map((image) => image.url), ...response.attachments.map((file) => file.url)] };
  });
  afterAll(() => gw.close());

  it('streams each image of a Midjourney job in order (the four images, then the grid), with caching headers', async () => {
    expect(mj.urls).toHaveLength(5);
    for (const [n, url] of mj.urls.entries()) {
      const proxied = await fetch(gw.url + mediaPath('midjourney-v3', mj.jobId, n));
      expect(proxied.status, `media ${n}`).toBe(200);
      expect(proxied.headers.get('content-type')).toBe('image/png');
      expect(proxied.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect(proxied.headers.get('x-content-type-options')).toBe('nosniff');
      const body = await bytes(proxied);
      expect(proxied.headers.get('content-length')).toBe(String(body.byteLength));
      expect(body).toEqual(await bytes(await fetch(url)));
    }
  });

  it('answers HEAD with the headers and no body', async () => {
    const head = await fetch(gw.url + mediaPath('midjourney-v3', mj.jobId, 0), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('image/png');
    expect(await head.text()).toBe('');
  });

  it('streams a fal job’s image; an OpenAI response names none', async () => {
    const fal = await finishedJob(gw.url, falScenarioProfile, 'media fal');
    const image = await fetch(gw.url + mediaPath('fal-queue', fal.jobId, 0));
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect((await bytes(image)).slice(1, 4)).toEqual(new TextEncoder().encode('PNG'));
    const openai = await finishedJob(gw.url, openaiScenarioProfile, 'media text');
    const none = await fetch(gw.url + mediaPath('openai-responses', openai.jobId, 0));
    expect(none.status).toBe(404);
    expect(await none.json()).toEqual({ error: 'no media #0: this job names 0 media', code: 'not_found' });
  });

  it('refuses an index past the job’s media (404), a bad index (400), an unknown job or profile (404)', async () => {
    const past = await fetch(gw.url + mediaPath('midjourney-v3', mj.jobId, 5));
    expect(past.status).toBe(404);
    expect(await past.json()).toEqual({ error: 'no media #5: this job names 5 media', code: 'not_found' });
    for (const bad of ['x', '-1', '1.5', '99999', '%20']) {
      const response = await fetch(gw.url + mediaPath('midjourney-v3', mj.jobId, bad));
      expect(response.status, bad).toBe(400);
      expect(((await response.json()) as { code: string }).code).toBe('bad_request');
    }
    const unknown = await fetch(gw.url + mediaPath('midjourney-v3', 'no-such-job', 0));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'Job not found', code: 'not_found' });
    expect((await fetch(gw.url + mediaPath('nope', mj.jobId, 0))).status).toBe(404);
    expect((await fetch(`${gw.url}/v1/jobs/midjourney-v3/bad%20id/media/0`)).status).toBe(400);
  });
});

describe('media proxy: access as for the job’s stream (API keys)', () => {
  let gw: TestGateway;
  let jobId: string;
  beforeAll(async () => {
    gw = await startTestGateway(SECURED);
    const created = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ prompt: 'secured --sim-steps 1 --sim-interval 5' }),
    });
    expect(created.status).toBe(200);
    jobId = String(/"jobId":"([^"]+)"/.exec(await created.text())?.[1]);
  });
  afterAll(() => gw.close());

  const token = async (jobs: string[]) => {
    const response = await fetch(`${gw.url}/v1/tokens`, {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ jobs }),
    });
    return ((await response.json()) as { token: string }).token;
  };

  it('needs an API key or a subscribe token naming the job', async () => {
    const url = gw.url + mediaPath('midjourney-v3', jobId, 0);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`${url}?token=${await token(['midjourney-v3:other-job'])}`)).status).toBe(403);
    expect((await fetch(`${url}?token=${await token([`midjourney-v3:${jobId}`])}`)).status).toBe(200);
    const withApiKey = await fetch(url, { headers: withKey() });
    expect(withApiKey.status).toBe(200);
    // Nothing of the gateway's secrets in what the client gets.
    const body = new TextDecoder('latin1').decode(await bytes(withApiKey));
    expect(body + JSON.stringify([...withApiKey.headers])).not.toContain(API_KEY);
  });
});

describe('media proxy: only the job’s own media URLs, only on allowed hosts, no private addresses', () => {
  let gw: Gateway;
  const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
  /** Stores a finished Midjourney job whose completed event names these media (and one URL outside its media fields). */
  const storeJob = async (jobId: string, urls: string[], elsewhere: string) => {
    const job = {
      jobid: jobId,
      status: 'completed',
      response: { content: `see ${elsewhere}`, imageUx: urls.map((url, i) => ({ id: i + 1, url })) },
    };
    const data = JSON.stringify({ event: 'midjourney_completed', jobId, job, seq: 0 });
    await bus.append(`midjourney-v3:${jobId}`, { seq: 0, data, terminal: true, snapshot: JSON.stringify(job) });
  };
  beforeAll(async () => {
    const config = loadConfig(withDevDefaults({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DRAIN_MS: '0' }));
    gw = await startGateway(config, { bus });
  });
  afterAll(() => gw.close());

  it('refuses another host, a private address (literal or resolved) and counts no URL outside the media fields', async () => {
    const sim = new URL(gw.simulatorUrl as string).origin;
    await storeJob(
      'job-hosts',
      [
        'https://evil.example/cat.png',
        'http://169.254.169.254/latest/meta-data/',
        'https://127.0.0.1/x.png',
        'https://localhost/x.png',
        'https://cdn.midjourney.com.evil.example/x.png',
      ],
      `${sim}/_sim/images/job/1.png`,
    );
    const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((n) => fetch(gw.url + mediaPath('midjourney-v3', 'job-hosts', n))));
    expect(answers.map((answer) => answer.status)).toEqual([403, 403, 403, 403, 403, 404]);
    const first = (await answers[0]?.json()) as { error: string; code: string };
    expect(first).toEqual({ error: 'media host not allowed for this profile: evil.example', code: 'forbidden' });
  });

  it('refuses a loopback port other than the simulator’s after resolving the name (dev mode exempts the simulator alone)', async () => {
    const sim = new URL(gw.simulatorUrl as string);
    // The gateway's own port on the simulator's host: allowed by name in dev mode? No: only the simulator's exact origin is.
    await storeJob('job-port', [`http://${sim.hostname}:${gw.port}/healthz`, `${sim.origin}/_sim/images/job/1.png`], '');
    const other = await fetch(gw.url + mediaPath('midjourney-v3', 'job-port', 0));
    expect(other.status).toBe(403);
    const own = await fetch(gw.url + mediaPath('midjourney-v3', 'job-port', 1));
    expect(own.status).toBe(200);
  });
});
