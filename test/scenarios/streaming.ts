import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { createJob, createJobId, ids, readSse, streamUrl } from '../support/sse.ts';
import type { ScenarioTarget } from './target.ts';

function parsed(data: string) {
  return JSON.parse(data) as {
    event: string;
    seq: number;
    jobId?: string;
    job?: { jobid: string; status: string; response?: { progress_percent?: number } };
  };
}

/** Collects one real EventSource's messages until the server ends the stream (it then errors/reconnects). */
function eventSourceCollect(url: string) {
  return new Promise<{ ids: number[]; data: string[] }>((resolve, reject) => {
    const seenIds: number[] = [];
    const data: string[] = [];
    const source = new EventSource(url);
    const timer = setTimeout(() => {
      source.close();
      reject(new Error('EventSource timed out'));
    }, 20_000);
    source.onmessage = (message) => {
      seenIds.push(Number(message.lastEventId));
      data.push(message.data);
      if (parsed(message.data).event === 'midjourney_completed') {
        clearTimeout(timer);
        source.close();
        resolve({ ids: seenIds, data });
      }
    };
  });
}

/**
 * Drop-in streaming and subscription scenarios, run against every runtime (Node, workerd).
 * The target needs HEARTBEAT_MS ≤ 100 and POLL_INTERVAL_MS ≤ 50.
 */
export function streamingScenarios(t: () => ScenarioTarget): void {
  describe('drop-in POST streaming', () => {
    it('streams a job to its terminal event with SSE headers, retry, ids equal to seq', async () => {
      const result = await createJob(t().url, 'a cat --sim-steps 3 --sim-interval 10');
      expect(result.status).toBe(200);
      expect(result.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(result.headers.get('cache-control')).toBe('no-cache, no-transform');
      expect(result.headers.get('x-accel-buffering')).toBe('no');
      expect(result.raw.startsWith('retry: 2000\n\n')).toBe(true);
      expect(result.raw).not.toMatch(/^event:/m);
      const events = result.events.map((e) => parsed(e.data));
      expect(events.map((e) => e.event)).toEqual([
        'initialized',
        'midjourney_created',
        'midjourney_started',
        'midjourney_progress',
        'midjourney_progress',
        'midjourney_progress',
        'midjourney_completed',
      ]);
      expect(result.events.map((e) => Number(e.id))).toEqual(events.map((e) => e.seq));
      const progress = events.filter((e) => e.event === 'midjourney_progress').map((e) => e.job?.response?.progress_percent ?? 0);
      expect([...progress].sort((a, b) => a - b)).toEqual(progress);
      expect(result.headers.get('x-job-id')).toBe(events[0]?.jobId);
    });

    it('returns 201 with the job for stream:false and keeps following the job', async () => {
      const response = await fetch(`${t().url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: 'x --sim-steps 2 --sim-interval 10', stream: false }),
      });
      expect(response.status).toBe(201);
      const job = (await response.json()) as { jobid: string; status: string };
      expect(job.status).toBe('created');
      expect(response.headers.get('x-job-id')).toBe(job.jobid);
      const sub = await readSse(streamUrl(t().url, job.jobid));
      expect(sub.events.map((e) => parsed(e.data).event).at(-1)).toBe('midjourney_completed');
    });

    it('keeps the upstream job going when the caller leaves the POST early', async () => {
      const before = await t().simStats();
      const first = await createJob(t().url, 'leave --sim-steps 4 --sim-interval 30', {}, { stopWhen: (events) => events.length >= 2 });
      const jobId = parsed(first.events[0]?.data ?? '{}').jobId as string;
      const rest = await readSse(streamUrl(t().url, jobId), { headers: { 'Last-Event-ID': first.events[1]?.id ?? '' } });
      expect(ids(rest.events)[0]).toBe(Number(first.events[1]?.id) + 1);
      expect(parsed(rest.events.at(-1)?.data ?? '{}').event).toBe('midjourney_completed');
      const after = await t().simStats();
      expect(after.streamsServed - before.streamsServed).toBe(1);
      expect(Object.keys(after.polls)).not.toContain(jobId);
    });
  });

  describe('subscribing', () => {
    it('delivers every event exactly once, in order, to 50 concurrent EventSource subscribers, from one upstream stream', async () => {
      const before = await t().simStats();
      const jobId = await createJobId(t().url, 'crowd --sim-steps 10 --sim-interval 40');
      const clients = await Promise.all(Array.from({ length: 50 }, () => eventSourceCollect(streamUrl(t().url, jobId))));
      const reference = await readSse(streamUrl(t().url, jobId));
      const expectedIds = ids(reference.events);
      expect(expectedIds).toHaveLength(14);
      for (const client of clients) {
        expect(client.ids).toEqual(expectedIds);
        expect(client.data).toEqual(reference.events.map((e) => e.data));
      }
      const after = await t().simStats();
      expect(after.streamsServed - before.streamsServed).toBe(1);
      expect(after.jobs - before.jobs).toBe(1);
    });

    it('gives a late joiner the full history then ends; a reconnect at the terminal seq gets 204', async () => {
      const live = await createJob(t().url, 'late --sim-steps 2 --sim-interval 5');
      const jobId = parsed(live.events[0]?.data ?? '{}').jobId as string;
      const late = await readSse(streamUrl(t().url, jobId));
      expect(late.status).toBe(200);
      expect(late.events.map((e) => e.data)).toEqual(live.events.map((e) => e.data));
      const terminal = late.events.at(-1)?.id as string;
      const again = await fetch(streamUrl(t().url, jobId), { headers: { 'Last-Event-ID': terminal } });
      expect(again.status).toBe(204);
      const past = await fetch(streamUrl(t().url, jobId, `?since=${Number(terminal) + 10}`));
      expect(past.status).toBe(204);
    });

    it('resumes mid-job from Last-Event-ID (over ?since) and from ?since alone', async () => {
      const jobId = await createJobId(t().url, 'resume --sim-steps 6 --sim-interval 20');
      const head = await readSse(streamUrl(t().url, jobId), { stopWhen: (events) => events.length >= 3 });
      const at = Number(head.events[2]?.id);
      const resumed = await readSse(streamUrl(t().url, jobId, '?since=0'), { headers: { 'Last-Event-ID': String(at) } });
      const all = await readSse(streamUrl(t().url, jobId));
      expect(ids(resumed.events)).toEqual(ids(all.events).filter((id) => id > at));
      const since = await readSse(streamUrl(t().url, jobId, '?since=1'));
      expect(ids(since.events)).toEqual(ids(all.events).filter((id) => id > 1));
    });

    it('sends comment heartbeats while a job is quiet', async () => {
      const jobId = await createJobId(t().url, 'quiet --sim-steps 1 --sim-interval 400');
      const result = await readSse(streamUrl(t().url, jobId));
      expect(result.comments.length).toBeGreaterThan(0);
    });

    it('serves the latest job object from the hub and proxies the job list', async () => {
      const live = await createJob(t().url, 'snap --sim-steps 1 --sim-interval 5');
      const jobId = parsed(live.events[0]?.data ?? '{}').jobId as string;
      const job = (await (await fetch(`${t().url}/v3/midjourney/jobs/${encodeURIComponent(jobId)}`)).json()) as { status: string };
      expect(job.status).toBe('completed');
      const rawColon = await fetch(`${t().url}/v3/midjourney/jobs/${jobId}`);
      expect(rawColon.status).toBe(200);
      const list = await fetch(`${t().url}/v3/midjourney/jobs`);
      expect(list.status).toBe(200);
      expect(await list.json()).toBeTypeOf('object');
    });
  });
}
