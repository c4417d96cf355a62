import { describe, expect, it } from 'vitest';
import { createJob, ids, readSse, streamUrl } from '../support/sse.ts';
import type { ScenarioTarget } from './target.ts';

const events = (result: { events: { data: string }[] }) =>
  result.events.map((e) => JSON.parse(e.data) as { event: string; seq: number; jobId?: string; job?: { status: string } });

/** Upstream behaviours seen through the relay, run against every runtime. The target needs POLL_INTERVAL_MS ≤ 30. */
export function upstreamScenarios(t: () => ScenarioTarget): void {
  describe('upstream scenarios through the gateway', () => {
    it.each(['failed', 'moderated', 'error'])('forwards a %s outcome as the terminal event and ends the stream', async (outcome) => {
      const result = await createJob(t().url, `o --sim-steps 1 --sim-interval 5 --sim-outcome ${outcome}`);
      const last = events(result).at(-1);
      expect(last?.event).toBe(outcome === 'error' ? 'error' : `midjourney_${outcome}`);
      const jobId = events(result)[0]?.jobId as string;
      const reconnect = await fetch(streamUrl(t().url, jobId), { headers: { 'Last-Event-ID': String(last?.seq) } });
      expect(reconnect.status).toBe(204);
    });

    it('falls back to polling when the upstream drops the stream, and still reaches the terminal event', async () => {
      const result = await createJob(t().url, 'drop --sim-steps 4 --sim-interval 40 --sim-drop-after 3');
      const seen = events(result);
      expect(seen.slice(0, 3).map((e) => e.event)).toEqual(['initialized', 'midjourney_created', 'midjourney_started']);
      expect(seen.at(-1)?.event).toBe('midjourney_completed');
      expect(seen.at(-1)?.job?.status).toBe('completed');
      const seqs = seen.map((e) => e.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(seqs.length);
      const stats = await t().simStats();
      expect(stats.polls[seen[0]?.jobId as string]).toBeGreaterThan(0);
    });

    it('skips malformed upstream lines (counting them where the runtime exposes counters), forwarding only valid events', async () => {
      const malformedBefore = t().malformedCount?.();
      const result = await createJob(t().url, 'junk --sim-steps 3 --sim-interval 5 --sim-garbage');
      const seen = events(result);
      expect(seen[0]?.event).toBe('initialized');
      expect(seen.at(-1)?.event).toBe('midjourney_completed');
      for (const event of result.events) expect(() => JSON.parse(event.data)).not.toThrow();
      expect(result.raw).not.toMatch(/^event: foo/m);
      expect(ids(result.events)).toEqual(seen.map((e) => e.seq));
      if (malformedBefore !== undefined) expect(t().malformedCount?.()).toBeGreaterThan(malformedBefore);
    });

    it('passes upstream rejections through with their status and a JSON error', async () => {
      for (const status of [400, 401, 402, 429]) {
        const response = await fetch(`${t().url}/v3/midjourney/jobs/imagine`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ prompt: `x --sim-status ${status}` }),
        });
        expect(response.status).toBe(status);
        const body = (await response.json()) as { error: string; code: string };
        expect(body.error).toBeTypeOf('string');
        expect(body.code).toBe('upstream_rejected');
      }
      const server = await fetch(`${t().url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: 'x --sim-status 500' }),
      });
      expect(server.status).toBe(502);
      expect(((await server.json()) as { code: string }).code).toBe('upstream_error');
    });

    it('follows a job created directly on the upstream by polling, for its subscribers', async () => {
      const sim = t().simulatorUrl;
      const created = await fetch(`${sim}/jobs/imagine`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer simulator' },
        body: JSON.stringify({ prompt: 'elsewhere --sim-steps 3 --sim-interval 60', stream: false }),
      });
      const { jobid } = (await created.json()) as { jobid: string };
      const result = await readSse(streamUrl(t().url, jobid));
      const seen = events(result);
      expect(seen.at(-1)?.event).toBe('midjourney_completed');
      expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i));
    });

    it('proxies DELETE to cancel a running job, ending its subscribers', async () => {
      const first = await createJob(t().url, 'cancel me --sim-steps 20 --sim-interval 50', {}, { stopWhen: (e) => e.length >= 1 });
      const jobId = events(first)[0]?.jobId as string;
      const stream = readSse(streamUrl(t().url, jobId));
      const response = await fetch(`${t().url}/v3/midjourney/jobs/${encodeURIComponent(jobId)}`, { method: 'DELETE' });
      expect(response.status).toBe(200);
      const result = await stream;
      const last = events(result).at(-1);
      expect(last?.event === 'midjourney_cancelled' || last?.job?.status === 'cancelled').toBe(true);
    });
  });
}
