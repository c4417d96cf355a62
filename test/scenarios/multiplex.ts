import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { expectError } from './access.ts';
import { SCENARIO_PROFILES, type ScenarioProfile } from './profiles.ts';
import type { ScenarioTarget } from './target.ts';
import { uniformUrl } from './uniform.ts';
import { type ReadSseOptions, type SseResult, readSse } from '../support/sse.ts';
import { API_KEY, createWithKey, withKey } from '../support/security.ts';

/** One frame of the multiplexed stream, as its data reads. */
export interface MuxFrame {
  job: string;
  seq: number;
  terminal: boolean;
  event: unknown;
}

/** `GET /v1/stream` for these jobs (`<profile>/<id>`, each URL-encoded), then `more` (`&since=1`). */
export const muxUrl = (base: string, jobs: readonly string[], more = '') =>
  `${base}/v1/stream?jobs=${jobs.map((job) => job.split('/').map(encodeURIComponent).join('/')).join(',')}${more}`;

/** A read's numbered frames (the data parsed, with the frame's id). */
export function muxFrames(result: SseResult): (MuxFrame & { id: string })[] {
  return result.events
    .filter((event) => event.event === undefined)
    .map((event) => ({ ...(JSON.parse(event.data) as MuxFrame), id: event.id as string }));
}

/** Each job's seqs, in the order the frames came. */
function seqsByJob(frames: readonly MuxFrame[]): Map<string, number[]> {
  const byJob = new Map<string, number[]>();
  for (const frame of frames) byJob.set(frame.job, [...(byJob.get(frame.job) ?? []), frame.seq]);
  return byJob;
}

/** A job of each profile, `steps` long; their names as the stream's frames carry them. */
export async function startJobs(
  t: ScenarioTarget,
  label: string,
  steps: (profile: ScenarioProfile, index: number) => number,
  intervalMs = 30,
) {
  return Promise.all(
    SCENARIO_PROFILES.map(async (profile, index) => {
      const jobId = await profile.startJob(t.url, { steps: steps(profile, index), intervalMs, label: `${label}${index}` });
      return { profile, jobId, name: `${profile.name}/${jobId}` };
    }),
  );
}

type Started = Awaited<ReturnType<typeof startJobs>>;

/** What each job's uniform stream (`/v1/jobs/<profile>/<id>/stream`) carries, read to its end. */
async function uniformEvents(t: ScenarioTarget, jobs: Started, headers: Record<string, string> = {}) {
  const reads = await Promise.all(jobs.map((job) => readSse(uniformUrl(t.url, job.profile.name, job.jobId), { headers })));
  return new Map(jobs.map((job, i) => [job.name, (reads[i] as SseResult).events.filter((e) => e.id !== undefined)]));
}

/** Every job's frames are its uniform stream's events, once each, in order, with `terminal` on the last only. */
export async function expectWholeJobs(t: ScenarioTarget, jobs: Started, frames: readonly MuxFrame[]) {
  const uniform = await uniformEvents(t, jobs);
  for (const job of jobs) {
    const expected = uniform.get(job.name) ?? [];
    const mine = frames.filter((frame) => frame.job === job.name);
    expect(mine.map((frame) => frame.seq)).toEqual(expected.map((e) => Number(e.id)));
    expect(mine.map((frame) => frame.event)).toEqual(expected.map((e) => JSON.parse(e.data)));
    expect(mine.map((frame) => frame.terminal)).toEqual(expected.map((_, i) => i === expected.length - 1));
    expect(job.profile.isTerminal(JSON.stringify(mine.at(-1)?.event))).toBe(true);
  }
}

/** Every frame a real EventSource gets until it stops (the 204 once every job is over). */
export function eventSourceFrames(url: string, timeoutMs = 30_000): Promise<MuxFrame[]> {
  return new Promise<MuxFrame[]>((resolve, reject) => {
    const got: MuxFrame[] = [];
    const source = new EventSource(url);
    const timer = setTimeout(() => {
      source.close();
      reject(new Error('EventSource timed out'));
    }, timeoutMs);
    source.onmessage = (message) => void got.push(JSON.parse(message.data) as MuxFrame);
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) return;
      clearTimeout(timer);
      resolve(got);
    };
  });
}

const read = (url: string, options: ReadSseOptions = {}) => readSse(url, { timeoutMs: 30_000, ...options });

/**
 * `GET /v1/stream`, the multiplexed stream, on every runtime (the target runs open, with
 * HEARTBEAT_MS ≤ 100): jobs of three profiles on one connection, resumed by the composite id,
 * each job dropped at its end, 204 once all are over, and clear refusals.
 */
export function multiplexScenarios(t: () => ScenarioTarget): void {
  describe('multiplexed stream', () => {
    it('carries three profiles’ jobs on one connection, each frame naming its job; drops each at its end; 204 after all', async () => {
      const jobs = await startJobs(t(), 'mux', (_, i) => 2 + 3 * i);
      const url = muxUrl(
        t().url,
        jobs.map((job) => job.name),
      );
      const result = await read(url);
      expect(result.status).toBe(200);
      expect(result.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(result.retry).toBe(2000);
      const frames = muxFrames(result);
      await expectWholeJobs(t(), jobs, frames);
      // The first job to end was dropped while the others went on: frames of other jobs follow its terminal one.
      const firstEnd = frames.findIndex((frame) => frame.terminal);
      expect(frames.slice(firstEnd + 1).some((frame) => frame.job !== frames[firstEnd]?.job)).toBe(true);
      // Every frame has its own id, and the last one resumes every job past its end: 204.
      expect(new Set(frames.map((frame) => frame.id)).size).toBe(frames.length);
      const again = await fetch(url, { headers: { 'Last-Event-ID': frames.at(-1)?.id as string } });
      expect(again.status).toBe(204);
    });

    it('resumes every job at its own seq from the composite Last-Event-ID: no gap, no duplicate', async () => {
      const jobs = await startJobs(t(), 'cut', () => 6, 40);
      const url = muxUrl(
        t().url,
        jobs.map((job) => job.name),
      );
      const seen: MuxFrame[] = [];
      let lastId: string | undefined;
      // Cut three times at awkward points, then read to the end.
      for (const cutAfter of [2, 5, 4, Number.POSITIVE_INFINITY]) {
        const part = await read(url, {
          headers: lastId ? { 'Last-Event-ID': lastId } : {},
          stopWhen: (events) => events.filter((e) => e.id !== undefined).length >= cutAfter,
        });
        if (part.status === 204) break;
        expect(part.status).toBe(200);
        const frames = muxFrames(part);
        seen.push(...frames);
        lastId = frames.at(-1)?.id ?? lastId;
      }
      await expectWholeJobs(t(), jobs, seen);
      expect((await fetch(url, { headers: { 'Last-Event-ID': lastId as string } })).status).toBe(204);
    });

    it('a real EventSource resumes by itself and stops on the 204 after every job is over', async () => {
      const jobs = await startJobs(t(), 'es', (_, i) => 1 + i, 20);
      const frames = await eventSourceFrames(
        muxUrl(
          t().url,
          jobs.map((job) => job.name),
        ),
      );
      await expectWholeJobs(t(), jobs, frames);
    });

    it('adds jobs: a longer list with the id in ?last_event_id= (a new EventSource); the others start after since', async () => {
      const [first, second] = await startJobs(t(), 'since', () => 2, 10);
      if (!first || !second) throw new Error('two jobs expected');
      const one = await read(muxUrl(t().url, [first.name]));
      const id = muxFrames(one).at(-1)?.id as string;
      // The first job is over (its id says so), the second starts after seq 1.
      const both = await read(muxUrl(t().url, [first.name, second.name], `&since=1&last_event_id=${id}`));
      const frames = muxFrames(both);
      expect(frames.every((frame) => frame.job === second.name)).toBe(true);
      const uniform = (await uniformEvents(t(), [second])).get(second.name) ?? [];
      expect(frames.map((frame) => frame.seq)).toEqual(uniform.map((e) => Number(e.id)).filter((seq) => seq > 1));
      // Its id now holds both; on a reconnect the header (newer) wins over the URL's.
      const last = frames.at(-1)?.id as string;
      expect(last.split('.')).toHaveLength(2);
      const again = await fetch(muxUrl(t().url, [first.name, second.name], `&last_event_id=${id}`), { headers: { 'Last-Event-ID': last } });
      expect(again.status).toBe(204);
    });

    it('sends heartbeats while every job is quiet', async () => {
      const jobs = await startJobs(t(), 'quiet', () => 1, 400);
      const result = await read(
        muxUrl(
          t().url,
          jobs.map((job) => job.name),
        ),
      );
      expect(result.comments.length).toBeGreaterThan(0);
    });

    it('refuses clearly: no jobs, past MAX_STREAM_JOBS, bad names, unknown profile or job, a bad resume point', async () => {
      const base = t().url;
      const [profile] = SCENARIO_PROFILES;
      const known = await (profile as ScenarioProfile).startJob(base, { steps: 1, intervalMs: 5, label: 'refuse' });
      const good = `${(profile as ScenarioProfile).name}/${known}`;
      await expectError(await fetch(`${base}/v1/stream`), 400, 'bad_request', /jobs is required/);
      const many = Array.from({ length: 101 }, (_, i) => `midjourney-v3/j${i}`);
      await expectError(await fetch(muxUrl(base, many)), 400, 'bad_request', /at most 100 \(MAX_STREAM_JOBS\)/);
      await expectError(await fetch(muxUrl(base, ['no-slash'])), 400, 'bad_request', /<profile>\/<id>/);
      await expectError(await fetch(muxUrl(base, ['midjourney-v3/bad id'])), 400, 'bad_request', /jobid must be/);
      await expectError(await fetch(muxUrl(base, ['nope/j1', good])), 404, 'not_found', /unknown profile "nope"/);
      await expectError(
        await fetch(muxUrl(base, [good, 'midjourney-v3/never-made'])),
        404,
        'not_found',
        /midjourney-v3\/never-made: Job not found/,
      );
      for (const id of ['12', 'abc', 'zzzzzz!1', `${'a'.repeat(7)}.`, 'ABCDEFG1']) {
        await expectError(await fetch(muxUrl(base, [good]), { headers: { 'Last-Event-ID': id } }), 400, 'bad_request', /Last-Event-ID/);
      }
      await expectError(await fetch(muxUrl(base, [good], '&since=x')), 400, 'bad_request', /since/);
      // An id naming jobs not asked for is no error: they are not in this stream.
      expect((await read(muxUrl(base, [good]), { headers: { 'Last-Event-ID': 'aaaaaa1.bbbbbb2' } })).status).toBe(200);
    });
  });
}

/** Access to the multiplexed stream (the target runs with ACCESS_ENV): an API key, or one token naming every job. */
export function multiplexAccessScenarios(t: () => ScenarioTarget): void {
  describe('multiplexed stream access', () => {
    it('opens with a token naming every job or with the API key; refuses a token missing one, naming it', async () => {
      const [a, b] = await Promise.all([
        createWithKey(t().url, 'ma --sim-steps 1 --sim-interval 5'),
        createWithKey(t().url, 'mb --sim-steps 2 --sim-interval 5'),
      ]);
      const names = [a, b].map((job) => `midjourney-v3/${job.jobId}`);
      const url = muxUrl(t().url, names);
      await expectError(await fetch(url), 401, 'unauthorized', /token is required/);
      await expectError(await fetch(`${url}&token=${a.token}`), 403, 'forbidden', new RegExp(`does not cover job ${names[1]}`));
      const minted = await fetch(`${t().url}/v1/tokens`, {
        method: 'POST',
        headers: withKey({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ jobs: names.map((name) => name.replace('/', ':')) }),
      });
      expect(minted.status).toBe(201);
      const { token } = (await minted.json()) as { token: string };
      const byToken = await read(`${url}&token=${token}`);
      expect(byToken.status).toBe(200);
      expect(new Set(muxFrames(byToken).map((frame) => frame.job))).toEqual(new Set(names));
      const byKey = await read(url, { headers: withKey() });
      expect(seqsByJob(muxFrames(byKey))).toEqual(seqsByJob(muxFrames(byToken)));
      expect(byKey.raw).not.toContain(API_KEY);
      expect(byToken.raw).not.toContain(token);
    });
  });
}
