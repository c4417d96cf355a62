import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../support/chromium.ts';
import { cardView, historySeqs, pageJobs } from '../support/dashboard.ts';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { readSse } from '../support/sse.ts';
import { until } from '../support/until.ts';
import { type TestSimulator, simulatorEndpoints, startTestSimulator } from '../support/worker.ts';

/** Waits of this file: two gateway processes start and one restarts mid-job. */
const patient = { timeoutMs: 45_000, intervalMs: 50 };

describe.skipIf(!hasChromium)('the dashboard across a restart of the instance serving it (two instances on Redis)', () => {
  let redis: RedisServer;
  let simulator: TestSimulator;
  let browser: Browser;
  const gateways: GatewayProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    [redis, simulator, browser] = await Promise.all([startRedisServer(), startTestSimulator(), launchChromium()]);
    env = {
      REDIS_URL: redis.url,
      ...simulatorEndpoints(new URL(simulator.url).origin, 'test-token'),
      RETRY_MS: '500',
      LEASE_MS: '1000',
      LOG_LEVEL: 'warn',
    };
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all(gateways.map((gateway) => gateway.stop('SIGKILL')));
    await simulator?.close();
    await redis?.stop();
  });

  async function startFromForm(page: Page, profile: string, prompt: string): Promise<string> {
    await page.selectOption('#profile', profile);
    await page.fill('#prompt', prompt);
    await page.click('#start button');
    return until(async () => (await pageJobs(page)).find((job) => job.startsWith(`${profile}/`)), `${profile} card`);
  }

  it('both pages resume every job with no event missing or repeated (each page’s log by seq)', async () => {
    const [a, b] = await Promise.all([startGatewayProcess('a', env), startGatewayProcess('b', env)]);
    gateways.push(a, b);
    const first = await (await browser.newContext()).newPage();
    await first.goto(`${a.url}/`);
    await first.waitForSelector('#start:not([hidden])');
    const mj = await startFromForm(first, 'midjourney-v3', 'through a restart --sim-steps 14 --sim-interval 400');
    const ai = await startFromForm(first, 'openai-responses', 'through a restart --sim-steps 40 --sim-interval 140');
    const jobs = [mj, ai];
    // Another machine opens the dashboard's link for the same jobs.
    const second = await (await browser.newContext()).newPage();
    await second.goto(`${a.url}/#jobs=${jobs.join(',')}`);
    // Instance b has a watcher of its own, so it takes the jobs over while a is down.
    const onB = readSse(
      `${b.url}/v1/stream?jobs=${jobs.map((job) => job.replace(/\/(.*)$/, (_, id: string) => `/${encodeURIComponent(id)}`)).join(',')}`,
      {
        timeoutMs: 60_000,
      },
    );
    const pages = [first, second];
    for (const page of pages)
      await until(async () => ((await cardView(page, ai))?.seqs.length ?? 0) >= 3, { ...patient, what: 'events on both pages' });

    // Mid-job: neither job is over when a goes.
    for (const job of jobs) expect((await cardView(first, job))?.over).toBe(false);
    await a.stop('SIGTERM');
    for (const page of pages)
      await until(
        () => page.getAttribute('#connection', 'data-state'),
        (state) => state !== 'open',
        patient,
      );
    const restarted = await startGatewayProcess('a2', { ...env, PORT: new URL(a.url).port });
    gateways.push(restarted);
    for (const page of pages) {
      for (const job of jobs)
        await until(async () => (await cardView(page, job))?.over, { ...patient, what: `${job} over after the restart` });
    }

    const history = Object.fromEntries(await Promise.all(jobs.map(async (job) => [job, await historySeqs(b.url, job)] as const)));
    for (const page of pages) {
      for (const job of jobs) expect((await cardView(page, job))?.seqs).toEqual(history[job]);
      expect((await cardView(page, mj))?.progress).toBe(100);
    }
    const seenOnB = (await onB).events.map((event) => JSON.parse(event.data) as { job: string; seq: number });
    for (const job of jobs) expect(seenOnB.filter((frame) => frame.job === job).map((frame) => frame.seq)).toEqual(history[job]);
  }, 90_000);
});
