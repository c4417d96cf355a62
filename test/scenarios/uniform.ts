import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { ids, readSse } from '../support/sse.ts';
import type { ScenarioProfile } from './profiles.ts';
import type { ScenarioTarget } from './target.ts';

/** The uniform subscribe path of a job. */
export const uniformUrl = (base: string, profile: string, jobId: string, query = '') =>
  `${base}/v1/jobs/${profile}/${encodeURIComponent(jobId)}/stream${query}`;

/**
 * `GET /v1/jobs/<profile>/<id>/stream` for one profile, on every runtime: full history then
 * live, resume by Last-Event-ID and ?since=, 204 after the terminal event, many concurrent and
 * late subscribers, one upstream stream per job, clear errors. Uses only the profile's create and terminal test.
 */
export function uniformScenarios(t: () => ScenarioTarget, profile: ScenarioProfile): void {
  describe(`uniform subscribe path, ${profile.name}`, () => {
    const url = (jobId: string, query = '') => uniformUrl(t().url, profile.name, jobId, query);

    it('streams the whole job to its terminal event, then answers a resume after it with 204', async () => {
      const jobId = await profile.startJob(t().url, { steps: 3, intervalMs: 20, label: 'uniform' });
      const full = await readSse(url(jobId));
      expect(full.status).toBe(200);
      expect(full.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(full.retry).toBe(2000);
      const seen = ids(full.events);
      expect(seen.length).toBeGreaterThan(2);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect(profile.isTerminal(full.events.at(-1)?.data ?? '{}')).toBe(true);
      const last = seen.at(-1) as number;
      expect((await fetch(url(jobId), { headers: { 'Last-Event-ID': String(last) } })).status).toBe(204);
      expect((await fetch(url(jobId, `?since=${last}`))).status).toBe(204);
      const resumed = await readSse(url(jobId, `?since=${seen[0]}`));
      expect(ids(resumed.events)).toEqual(seen.slice(1));
      const byHeader = await readSse(url(jobId), { headers: { 'Last-Event-ID': String(seen[1]) } });
      expect(ids(byHeader.events)).toEqual(seen.slice(2));
    });

    it('serves 50 concurrent subscribers and a late joiner the same events, over one upstream stream', async () => {
      const streams = async () => (profile.upstreamStreams ? profile.upstreamStreams(t()) : (await t().simStats()).streamsServed);
      const before = await streams();
      const jobId = await profile.startJob(t().url, { steps: 5, intervalMs: 40, label: 'fanout' });
      const results = await Promise.all(Array.from({ length: 50 }, () => readSse(url(jobId), { timeoutMs: 30_000 })));
      const late = await readSse(url(jobId));
      const expected = ids(late.events);
      for (const result of results) expect(ids(result.events)).toEqual(expected);
      expect((await streams()) - before).toBe(1);
    });

    it('works with a real EventSource, which stops on the 204 after the terminal event', async () => {
      const jobId = await profile.startJob(t().url, { steps: 2, intervalMs: 20, label: 'browser' });
      const data = await new Promise<string[]>((resolve, reject) => {
        const seen: string[] = [];
        const source = new EventSource(url(jobId));
        const timer = setTimeout(() => {
          source.close();
          reject(new Error('EventSource timed out'));
        }, 20_000);
        source.onmessage = (message) => void seen.push(message.data);
        // After the terminal event the server ends the stream; the reconnect gets 204 and EventSource closes.
        source.onerror = () => {
          if (source.readyState !== EventSource.CLOSED) return;
          clearTimeout(timer);
          resolve(seen);
        };
      });
      expect(profile.isTerminal(data.at(-1) ?? '{}')).toBe(true);
    });

    it('answers unknown profiles, bad ids and bad resume points with clear errors', async () => {
      const unknown = await fetch(`${t().url}/v1/jobs/no-such-profile/j1/stream`);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ code: 'not_found' });
      expect((await fetch(url('bad id with spaces'))).status).toBe(400);
      expect((await fetch(url('j1'), { headers: { 'Last-Event-ID': 'abc' } })).status).toBe(400);
      expect((await fetch(url('never-created-job'))).status).toBe(404);
    });
  });
}
