import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJob, createJobId, ids, readSse, streamUrl } from '../support/sse.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';
import { sleep } from '../support/until.ts';

// What only the Worker does: stream time cap, deadline and history expiry by Durable Object alarms.
let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker({
    HEARTBEAT_MS: '100',
    POLL_INTERVAL_MS: '30',
    RETRY_MS: '50',
    MAX_STREAM_MS: '1000',
    JOB_DEADLINE_MS: '5000',
    HISTORY_TTL_S: '1',
  });
});
afterAll(async () => {
  await worker?.close();
});

const parsed = (data: string) =>
  JSON.parse(data) as { event: string; seq: number; error?: string; jobId?: string; job?: { status: string } };

describe('Worker: subscriber streams are capped by MAX_STREAM_MS', () => {
  it('ends a long subscription with a retry: frame, and an EventSource resumes without gap or duplicate', async () => {
    const jobId = await createJobId(worker.url, 'long --sim-steps 10 --sim-interval 250');
    const first = await readSse(streamUrl(worker.url, jobId));
    expect(first.status).toBe(200);
    expect(first.raw.endsWith('retry: 50\n\n')).toBe(true);
    expect(first.comments.some((c) => c.includes('stream time limit'))).toBe(true);
    expect(parsed(first.events.at(-1)?.data ?? '{}').event).not.toBe('midjourney_completed');

    const seen: number[] = [];
    let opens = 0;
    await new Promise<void>((resolve, reject) => {
      const source = new EventSource(streamUrl(worker.url, jobId));
      const timer = setTimeout(() => reject(new Error('EventSource timed out')), 15_000);
      source.onopen = () => void opens++;
      source.onmessage = (message) => {
        seen.push(Number(message.lastEventId));
        if (parsed(message.data).event === 'midjourney_completed') {
          clearTimeout(timer);
          source.close();
          resolve();
        }
      };
    });
    const reference = await readSse(streamUrl(worker.url, jobId));
    expect(seen).toEqual(ids(reference.events));
    expect(opens).toBeGreaterThanOrEqual(2);
  });
});

describe('Worker: alarms', () => {
  it('ends a job still running past JOB_DEADLINE_MS with a terminal error event', async () => {
    const result = await createJob(worker.url, 'forever --sim-steps 90 --sim-interval 100', {}, { timeoutMs: 15_000 });
    // The POST stream itself is capped at 1 s: follow the job to its end by resuming.
    const jobId = parsed(result.events[0]?.data ?? '{}').jobId as string;
    let last = Number(result.events.at(-1)?.id);
    let tail: ReturnType<typeof parsed> | undefined;
    for (let i = 0; i < 20 && tail?.event !== 'error'; i++) {
      const next = await readSse(streamUrl(worker.url, jobId), { headers: { 'Last-Event-ID': String(last) } });
      if (next.status === 204) break;
      if (next.events.length > 0) {
        last = Number(next.events.at(-1)?.id);
        tail = parsed(next.events.at(-1)?.data ?? '{}');
      }
    }
    expect(tail?.event).toBe('error');
    expect(tail?.error).toMatch(/deadline/);
    const after = await fetch(streamUrl(worker.url, jobId), { headers: { 'Last-Event-ID': String(last) } });
    expect(after.status).toBe(204);
  });

  it('deletes a job history HISTORY_TTL_S after its terminal event', async () => {
    const live = await createJob(worker.url, 'brief --sim-steps 2 --sim-interval 5');
    const jobId = parsed(live.events[0]?.data ?? '{}').jobId as string;
    expect(live.events.length).toBeGreaterThan(3);
    await sleep(2500);
    // Storage is gone: the object knows nothing and rebuilds the job from one upstream poll.
    const before = (await worker.simStats()).polls[jobId] ?? 0;
    const again = await readSse(streamUrl(worker.url, jobId));
    expect(again.events.map((e) => parsed(e.data).event)).toEqual(['midjourney_completed']);
    expect((await worker.simStats()).polls[jobId] ?? 0).toBeGreaterThan(before);
  });
});
