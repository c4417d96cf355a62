import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../support/chromium.ts';
import { artifactPath, cardView, historySeqs, pageJobs, recordCards, seenOf, startJob, streamRequests } from '../support/dashboard.ts';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { until } from '../support/until.ts';

/** The browser client as a page uses it: watches `jobs`, resolves with each job's seqs once all are over. */
type ClientRun = (args: { jobs: string[]; shared: boolean }) => Promise<Record<string, number[]>>;
declare global {
  interface Window {
    runClient: ClientRun;
  }
}
const CLIENT_RUN = `window.runClient = async ({ jobs, shared }) => {
  const { watch } = await import('/client.js');
  return new Promise((resolve, reject) => {
    const seqs = Object.fromEntries(jobs.map((job) => [job, []]));
    watch(jobs, { onEvent: (frame) => seqs[frame.job].push(frame.seq), onEnd: () => resolve(seqs), onError: (e) => reject(new Error(e.message)) }, { shared });
  });
};`;

describe.skipIf(!hasChromium)('the dashboard in Chromium (open mode)', () => {
  let gw: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    gw = await startTestGateway({});
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  async function openTabs(context: BrowserContext, count: number): Promise<Page[]> {
    const pages: Page[] = [];
    for (let i = 0; i < count; i++) {
      const page = await context.newPage();
      await page.goto(`${gw.url}/`);
      await page.waitForSelector('#start:not([hidden])');
      pages.push(page);
    }
    return pages;
  }

  /** A page of the gateway's origin with nothing but runClient (the client's own test bench). */
  async function openBlank(page: Page): Promise<void> {
    const url = `${gw.url}/test-bench`;
    await page.route(url, (route) =>
      route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>bench</title><script>${CLIENT_RUN}</script>` }),
    );
    await page.goto(url);
  }

  async function startFromForm(page: Page, profile: string, prompt: string): Promise<string> {
    const before = new Set(await pageJobs(page));
    await page.selectOption('#profile', profile);
    await page.fill('#prompt', prompt);
    await page.click('#start button');
    return until(async () => (await pageJobs(page)).find((job) => !before.has(job) && job.startsWith(`${profile}/`)), `${profile} card`);
  }

  it('two tabs show a Midjourney job and an OpenAI response started in one of them: progress, four images, growing text, every event once', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 820 } });
    try {
      const pages = await openTabs(context, 2);
      for (const page of pages) await recordCards(page);
      const [a] = pages as [Page, Page];
      const mj = await startFromForm(a, 'midjourney-v3', 'a lighthouse at dusk --sim-steps 6 --sim-interval 150');
      const ai = await startFromForm(a, 'openai-responses', 'write about relays --sim-steps 12 --sim-interval 80');
      for (const page of pages) {
        for (const job of [mj, ai]) await until(async () => (await cardView(page, job))?.over, { timeoutMs: 30_000, what: `${job} over` });
      }
      const history = { [mj]: await historySeqs(gw.url, mj), [ai]: await historySeqs(gw.url, ai) };
      for (const page of pages) {
        const image = (await cardView(page, mj)) as NonNullable<Awaited<ReturnType<typeof cardView>>>;
        expect(image).toMatchObject({
          status: 'completed',
          progress: 100,
          seqs: history[mj],
          buttons: ['U1', 'U2', 'U3', 'U4', '🔄', 'V1', 'V2', 'V3', 'V4'],
        });
        const id = encodeURIComponent(mj.slice(mj.indexOf('/') + 1));
        expect(image.images).toEqual([0, 1, 2, 3].map((n) => `/v1/jobs/midjourney-v3/${id}/media/${n}`));
        const text = (await cardView(page, ai)) as NonNullable<Awaited<ReturnType<typeof cardView>>>;
        expect(text).toMatchObject({ status: 'completed', progress: 100, seqs: history[ai] });
        // The progress went up step by step to 100.
        const progress = (await seenOf(page, mj)).progress;
        expect(progress.filter((p) => p > 0 && p < 100).length).toBeGreaterThanOrEqual(3);
        expect(progress.at(-1)).toBe(100);
        expect([...progress].sort((x, y) => x - y)).toEqual(progress);
        // The text grew delta by delta: each one seen a longer prefix of the final text.
        const seen = (await seenOf(page, ai)).texts.filter((t) => t !== '');
        expect(seen.length).toBeGreaterThanOrEqual(6);
        expect(seen.at(-1)).toBe(text.text);
        for (const [i, t] of seen.entries())
          if (i > 0) expect(t.startsWith(seen[i - 1] as string) && t.length > (seen[i - 1] as string).length).toBe(true);
      }
      await a.screenshot({ path: artifactPath('dashboard.png') });
    } finally {
      await context.close();
    }
  });

  it("a Midjourney card's U1 button starts the follow-up job, shown on its own card", async () => {
    const context = await browser.newContext();
    try {
      const [page] = (await openTabs(context, 1)) as [Page];
      const parent = await startFromForm(page, 'midjourney-v3', 'a parent --sim-steps 2 --sim-interval 50');
      await until(async () => (await cardView(page, parent))?.buttons.includes('U1'), 'the buttons');
      const before = new Set(await pageJobs(page));
      await page.click(`.card[data-job="${parent}"] button[data-button="U1"]`);
      const child = await until(async () => (await pageJobs(page)).find((job) => !before.has(job)), 'the follow-up card');
      await until(async () => (await cardView(page, child))?.over, 'the follow-up over');
      expect(await cardView(page, child)).toMatchObject({ status: 'completed', progress: 100 });
      const job = (await (
        await fetch(`${gw.url}/v1/jobs/midjourney-v3/${encodeURIComponent(child.slice(child.indexOf('/') + 1))}`)
      ).json()) as {
        verb: string;
        request: { button: string; jobId: string };
      };
      expect(job).toMatchObject({ verb: 'button', request: { button: 'U1', jobId: parent.slice(parent.indexOf('/') + 1) } });
    } finally {
      await context.close();
    }
  });

  it('ten jobs of three profiles in one tab use one connection', async () => {
    const profiles = ['midjourney-v3', 'openai-responses', 'fal-queue'];
    const jobs = await Promise.all(
      Array.from({ length: 10 }, (_, i) => startJob(gw.url, profiles[i % 3] as string, `job ${i} --sim-steps 4 --sim-interval 60`)),
    );
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await openBlank(page);
      const before = streamRequests(gw.logs);
      const seqs = await page.evaluate((args) => window.runClient(args), { jobs, shared: false });
      for (const job of jobs) expect(seqs[job]).toEqual(await historySeqs(gw.url, job));
      expect(streamRequests(gw.logs) - before).toBe(1);
    } finally {
      await context.close();
    }
  });

  it('two tabs of one browser share one connection through the SharedWorker; without it, each tab has its own', async () => {
    for (const shared of [true, false]) {
      const jobs = await Promise.all([
        startJob(gw.url, 'midjourney-v3', 'shared --sim-steps 8 --sim-interval 100'),
        startJob(gw.url, 'openai-responses', 'shared --sim-steps 8 --sim-interval 100'),
      ]);
      const context = await browser.newContext();
      // A browser without SharedWorker: the client falls back to a connection per tab.
      if (!shared) await context.addInitScript(() => Reflect.deleteProperty(window, 'SharedWorker'));
      try {
        const tabs = [await context.newPage(), await context.newPage()];
        for (const tab of tabs) {
          await openBlank(tab);
        }
        const before = streamRequests(gw.logs);
        const first = tabs[0]?.evaluate((args) => window.runClient(args), { jobs, shared: true });
        // The second tab attaches while the first one's stream is under way, and still gets every event from the start.
        await until(() => streamRequests(gw.logs) > before, 'the first stream');
        const second = tabs[1]?.evaluate((args) => window.runClient(args), { jobs, shared: true });
        const results = await Promise.all([first, second]);
        for (const job of jobs) {
          const history = await historySeqs(gw.url, job);
          for (const result of results) expect(result?.[job]).toEqual(history);
        }
        expect(streamRequests(gw.logs) - before).toBe(shared ? 1 : 2);
      } finally {
        await context.close();
      }
    }
  });
});
