import { beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '../support/sse.ts';
import { falScenarioProfile, midjourneyScenarioProfile, openaiScenarioProfile, type ScenarioProfile } from './profiles.ts';
import type { ScenarioTarget } from './target.ts';

export const mediaPath = (profile: string, jobId: string, n: number | string) =>
  `/v1/jobs/${profile}/${encodeURIComponent(jobId)}/media/${n}`;

/** Starts a short simulator job and reads its stream to the end; its id and the data of its events. */
export async function finishedJob(url: string, profile: ScenarioProfile, label: string) {
  const jobId = await profile.startJob(url, { steps: 1, intervalMs: 5, label });
  const stream = await readSse(`${url}/v1/jobs/${profile.name}/${encodeURIComponent(jobId)}/stream`);
  expect(stream.events.some((event) => profile.isTerminal(event.data))).toBe(true);
  return { jobId, events: stream.events.map((event) => JSON.parse(event.data) as Record<string, unknown>) };
}

const bytes = async (response: Response) => new Uint8Array(await response.arrayBuffer());

/**
 * The media proxy on an open relay whose upstream is the simulator (its origin is the development
 * exception on both runtimes): a job's own images, in the profile's order, and the 4xx answers.
 */
export function mediaScenarios(target: () => ScenarioTarget): void {
  describe('media proxy: a job’s own media', () => {
    let mj: { jobId: string; urls: string[] };
    beforeAll(async () => {
      const { jobId, events } = await finishedJob(target().url, midjourneyScenarioProfile, 'media cat');
      const completed = events[events.length - 1] as { job: { response: { imageUx: { url: string }[]; attachments: { url: string }[] } } };
      const { response } = completed.job;
      mj = { jobId, urls: [...response.imageUx.map((image) => image.url), ...response.attachments.map((file) => file.url)] };
    });

    it('streams each image of a Midjourney job in order (the four images, then the grid), with caching headers', async () => {
      expect(mj.urls).toHaveLength(5);
      for (const [n, url] of mj.urls.entries()) {
        const proxied = await fetch(target().url + mediaPath('midjourney-v3', mj.jobId, n));
        expect(proxied.status, `media ${n}`).toBe(200);
        expect(proxied.headers.get('content-type')).toBe('image/png');
        expect(proxied.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
        expect(proxied.headers.get('x-content-type-options')).toBe('nosniff');
        const body = await bytes(proxied);
        expect(proxied.headers.get('content-length')).toBe(String(body.byteLength));
        expect(body).toEqual(await bytes(await fetch(url)));
      }
    });

    it('streams a fal job’s image; an OpenAI response names none', async () => {
      const fal = await finishedJob(target().url, falScenarioProfile, 'media fal');
      const image = await fetch(target().url + mediaPath('fal-queue', fal.jobId, 0));
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect((await bytes(image)).slice(1, 4)).toEqual(new TextEncoder().encode('PNG'));
      const openai = await finishedJob(target().url, openaiScenarioProfile, 'media text');
      const none = await fetch(target().url + mediaPath('openai-responses', openai.jobId, 0));
      expect(none.status).toBe(404);
      expect(await none.json()).toEqual({ error: 'no media #0: this job names 0 media', code: 'not_found' });
    });

    it('refuses an index past the job’s media (404), a bad index (400), an unknown job or profile (404)', async () => {
      const { url } = target();
      const past = await fetch(url + mediaPath('midjourney-v3', mj.jobId, 5));
      expect(past.status).toBe(404);
      expect(await past.json()).toEqual({ error: 'no media #5: this job names 5 media', code: 'not_found' });
      for (const bad of ['x', '-1', '1.5', '99999', '%20']) {
        const response = await fetch(url + mediaPath('midjourney-v3', mj.jobId, bad));
        expect(response.status, bad).toBe(400);
        expect(((await response.json()) as { code: string }).code).toBe('bad_request');
      }
      const unknown = await fetch(url + mediaPath('midjourney-v3', 'no-such-job', 0));
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ error: 'Job not found', code: 'not_found' });
      expect((await fetch(url + mediaPath('nope', mj.jobId, 0))).status).toBe(404);
      expect((await fetch(`${url}/v1/jobs/midjourney-v3/bad%20id/media/0`)).status).toBe(400);
    });
  });
}
