import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { muxFrames, multiplexScenarios, muxUrl, startJobs } from '../scenarios/multiplex.ts';
import { midjourneyScenarioProfile } from '../scenarios/profiles.ts';
import { readSse } from '../support/sse.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { holdStream } from '../support/security.ts';
import { until } from '../support/until.ts';

// The multiplexed stream on the Node gateway; the same scenarios run in workerd (test/worker/multiplex.test.ts).
// Node-only here: one stream of many jobs is one subscriber slot.
let gw: TestGateway;
let oneSlot: TestGateway;
beforeAll(async () => {
  [gw, oneSlot] = await Promise.all([
    startTestGateway({ POLL_INTERVAL_MS: '30', HEARTBEAT_MS: '100', CREATE_RATE_PER_MIN: '0' }),
    startTestGateway({ POLL_INTERVAL_MS: '30', MAX_SUBSCRIBERS_PER_IP: '1' }),
  ]);
});
afterAll(async () => {
  await Promise.all([gw.close(), oneSlot.close()]);
});

multiplexScenarios(() => gw.scenarioTarget());

describe('limits', () => {
  it('counts one subscriber slot per stream, however many jobs it carries', async () => {
    const jobs = await startJobs(oneSlot.scenarioTarget(), 'slot', () => 40, 100);
    const url = muxUrl(
      oneSlot.url,
      jobs.map((job) => job.name),
    );
    const held = await holdStream(url);
    expect(held.response.status).toBe(200);
    expect(oneSlot.relay.counts().subscribers).toBeGreaterThan(0);
    expect((await fetch(url)).status).toBe(429);
    held.close();
    const again = await until(
      async () => {
        const attempt = await holdStream(url);
        if (attempt.response.status === 200) return attempt;
        attempt.close();
        return undefined;
      },
      { timeoutMs: 10_000, what: 'the slot back' },
    );
    again.close();
  });

  it('carries MAX_STREAM_JOBS (100) jobs, whose URL and composite id fit in the request head', async () => {
    const ids = await Promise.all(
      Array.from({ length: 100 }, (_, i) => midjourneyScenarioProfile.startJob(gw.url, { steps: 1, intervalMs: 5, label: `cap${i}` })),
    );
    const url = muxUrl(
      gw.url,
      ids.map((id) => `midjourney-v3/${id}`),
    );
    const result = await readSse(url, { timeoutMs: 60_000 });
    const frames = muxFrames(result);
    expect(frames.filter((frame) => frame.terminal)).toHaveLength(100);
    const last = frames.at(-1)?.id as string;
    expect(last.split('.')).toHaveLength(100);
    expect(last.length).toBeLessThanOrEqual(100 * 9);
    expect((await fetch(url, { headers: { 'Last-Event-ID': last } })).status).toBe(204);
  });
});
