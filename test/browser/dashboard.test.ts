import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../support/chromium.ts';
import { artifactPath, cardView, historySeqs, pageJobs, recordCards, seenOf, startJob, streamRequests } from '../support/dashboard.ts';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { REDACTED } from '../../src/core/redact.ts';
// The client's own types (web/client.d.ts), checked by `npm run check` here.
import type { ConnectionState, StreamError } from '../../web/client.js';
import { API_KEY, SECURED, TOKEN_SECRET, holdStream } from '../support/security.ts';
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

let browser: Browser;
beforeAll(async () => {
  if (hasChromium) browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/** A page of the gateway's origin with nothing but `script` (the client's own test bench). */
async function openBench(page: Page, base: string, script = CLIENT_RUN): Promise<void> {
  const url = `${base}/test-bench`;
  await page.route(url, (route) =>
    route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>bench</title><script>${script}</script>` }),
  );
  await page.goto(url);
}

/** Watches `jobs` (one unknown to the gateway) and resolves with the first job's seqs and the errors once the watch ends. */
const REFUSED_RUN = `window.refusedRun = async (jobs) => {
  const { watch } = await import('/client.js');
  const seqs = [];
  const errors = [];
  return new Promise((resolve) => {
    watch(jobs, {
      onEvent: (frame) => frame.job === jobs[0] && seqs.push(frame.seq),
      onError: (error) => errors.push(error),
      onEnd: () => resolve({ seqs, errors }),
    });
  });
};`;

describe.skipIf(!hasChromium)('the dashboard in Chromium (open mode)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({});
  });
  afterAll(async () => {
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
        // Through the media proxy, the four images load.
        await until(async () => (await cardView(page, mj))?.loaded === 4, 'the four images loaded');
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
      // The Midjourney card's event log open, for the picture in docs/dashboard.md.
      await a.click(`.card[data-job="${mj}"] summary`);
      await a.screenshot({ path: artifactPath('dashboard.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  it("a Midjourney card's U1 button starts the follow-up job, shown on its own card; a Replicate prediction shows its text", async () => {
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
      // A Replicate prediction from the same form: its text grows from the output pieces.
      const prediction = await startFromForm(page, 'replicate', 'a short poem --sim-steps 5 --sim-interval 30');
      await until(async () => (await cardView(page, prediction))?.over, 'the prediction over');
      const final = (await (await fetch(`${gw.url}/replicate/v1/predictions/${prediction.slice(prediction.indexOf('/') + 1)}`)).json()) as {
        output: string[];
      };
      expect(await cardView(page, prediction)).toMatchObject({ status: 'succeeded', progress: 100, text: final.output.join('') });
    } finally {
      await context.close();
    }
  });

  it('ten jobs of four profiles in one tab use one connection', async () => {
    const profiles = ['midjourney-v3', 'openai-responses', 'fal-queue', 'replicate'];
    const jobs = await Promise.all(
      Array.from({ length: 10 }, (_, i) => startJob(gw.url, profiles[i % 4] as string, `job ${i} --sim-steps 4 --sim-interval 60`)),
    );
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await openBench(page, gw.url);
      const before = streamRequests(gw.logs);
      const seqs = await page.evaluate((args) => window.runClient(args), { jobs, shared: false });
      for (const job of jobs) expect(seqs[job]).toEqual(await historySeqs(gw.url, job));
      expect(streamRequests(gw.logs) - before).toBe(1);
    } finally {
      await context.close();
    }
  });

  it('a job the gateway does not know is refused clearly and dropped; the other jobs of the watch go on', async () => {
    const job = await startJob(gw.url, 'openai-responses', 'known --sim-steps 3 --sim-interval 30');
    const unknown = 'midjourney-v3/no-such-job';
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await openBench(page, gw.url, REFUSED_RUN);
      const result = await page.evaluate(
        (jobs) =>
          (window as unknown as { refusedRun(jobs: string[]): Promise<{ seqs: number[]; errors: StreamError[] }> }).refusedRun(jobs),
        [job, unknown],
      );
      expect(result.errors).toEqual([{ status: 404, code: 'not_found', message: expect.stringContaining(unknown), job: unknown }]);
      expect(result.seqs).toEqual(await historySeqs(gw.url, job));
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
          await openBench(tab, gw.url);
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

/** Watches `first` with a token function (short-lived tokens minted by the test, as an app's backend would); adds `later` once the first token has expired. */
const REFRESH_RUN = `window.refreshRun = async ({ first, later }) => {
  const { watch } = await import('/client.js');
  let calls = 0;
  let firstExp;
  const seqs = {};
  const errors = [];
  return new Promise((resolve) => {
    const w = watch([first], {
      onEvent: (frame) => (seqs[frame.job] ??= []).push(frame.seq),
      onError: (error) => errors.push(error),
      onEnd: () => resolve({ calls, seqs, errors }),
    }, {
      shared: false,
      token: async () => {
        calls++;
        const token = await window.mintToken();
        firstExp ??= JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp;
        return token;
      },
    });
    const check = setInterval(() => {
      if (firstExp !== undefined && Date.now() / 1000 > firstExp + 0.2) {
        clearInterval(check);
        w.add(later);
      }
    }, 50);
  });
};`;

describe.skipIf(!hasChromium)('the dashboard in Chromium (secured mode)', () => {
  const SIM_TOKEN = 'sim-vendor-credential-0123456789abcdef';
  let gw: TestGateway;
  const key = { Authorization: `Bearer ${API_KEY}` };

  let appOrigin: string;
  let app: Server;

  beforeAll(async () => {
    // An app on another origin (its own server, another port) may read the streams.
    app = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>app</title>'));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    gw = await startTestGateway({ ...SECURED, SIM_TOKEN, MAX_REPLAY_EVENTS: '12', CORS_ORIGINS: appOrigin });
  });
  afterAll(async () => {
    await gw?.close();
    await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  });

  async function mintToken(jobs: readonly string[], ttlS?: number): Promise<string> {
    const response = await fetch(`${gw.url}/v1/tokens`, {
      method: 'POST',
      headers: { ...key, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jobs: jobs.map((job) => job.replace('/', ':')), ...(ttlS ? { ttl_s: ttlS } : {}) }),
    });
    return ((await response.json()) as { token: string }).token;
  }

  it('is watch-only for the jobs of the token in its link; gaps re-read the job; no key or vendor credential reaches the page', async () => {
    const jobs = [
      await startJob(gw.url, 'midjourney-v3', 'watched --sim-steps 3 --sim-interval 30', key),
      // More events than MAX_REPLAY_EVENTS: the page, opened after the end, gets a gap and re-reads the response.
      await startJob(gw.url, 'openai-responses', 'a long answer --sim-steps 30 --sim-interval 10', key),
      // The simulator puts the vendor credential into a log line; the gateway must never pass it on.
      await startJob(gw.url, 'fal-queue', 'echo --sim-steps 2 --sim-interval 30 --sim-echo-token', key),
    ];
    for (const job of jobs) await historySeqs(gw.url, job, key);
    const token = await mintToken(jobs);
    const context = await browser.newContext();
    // Without SharedWorker the stream is the page's own, so the page's network log below holds every byte it got.
    await context.addInitScript(() => Reflect.deleteProperty(window, 'SharedWorker'));
    try {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      const received: string[] = [];
      const bodies: Promise<unknown>[] = [];
      cdp.on('Network.eventSourceMessageReceived', (event) => void received.push(event.data));
      cdp.on('Network.responseReceived', (event) => void received.push(JSON.stringify(event.response.headers)));
      cdp.on('Network.loadingFinished', (event) => {
        bodies.push(
          cdp.send('Network.getResponseBody', { requestId: event.requestId }).then(
            (b) => received.push(b.body),
            () => undefined,
          ),
        );
      });
      await page.goto(`${gw.url}/#token=${token}`);
      for (const job of jobs) await until(async () => (await cardView(page, job))?.over, { timeoutMs: 30_000, what: `${job} over` });
      expect(await page.isHidden('#start')).toBe(true);
      expect(await page.textContent('#mode')).toContain('watch-only');
      const answer = (await cardView(page, jobs[1] as string)) as NonNullable<Awaited<ReturnType<typeof cardView>>>;
      expect(answer.gaps).toBe(1);
      const final = (await (await fetch(`${gw.url}/v1/jobs/${jobs[1]}`, { headers: key })).json()) as {
        output: { content: { text: string }[] }[];
      };
      await until(async () => (await cardView(page, jobs[1] as string))?.text === final.output[0]?.content[0]?.text, 'the text re-read');
      // The images load through the media proxy with the page's token: Midjourney's four, fal's one.
      await until(async () => (await cardView(page, jobs[0] as string))?.loaded === 4, 'the Midjourney images');
      await until(async () => (await cardView(page, jobs[2] as string))?.loaded === 1, "fal's image");
      await page.screenshot({ path: artifactPath('dashboard-watch-only.png') });
      await Promise.all(bodies);
      received.push(await page.content(), JSON.stringify(await page.evaluate(() => ({ ...localStorage }))));
      const everything = received.join('\n');
      expect(everything).toContain('"terminal":true');
      // The echoed credential did come by, redacted.
      expect(everything).toContain(REDACTED);
      expect(everything).toContain('<script type="module" src="/dashboard.js">');
      for (const secret of [API_KEY, TOKEN_SECRET, SIM_TOKEN]) expect(everything).not.toContain(secret);
    } finally {
      await context.close();
    }
  });

  it('works from an app on another origin, importing the client from the gateway (each tab its own connection there)', async () => {
    const job = await startJob(gw.url, 'openai-responses', 'elsewhere --sim-steps 3 --sim-interval 20', key);
    const token = await mintToken([job]);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${appOrigin}/`);
      // A string, not a function: the test runner would rewrite a function's import().
      const result = await page.evaluate(`(async () => {
        const { watch } = await import(${JSON.stringify(`${gw.url}/client.js`)});
        return new Promise((resolve) => {
          const seqs = [];
          const w = watch([${JSON.stringify(job)}], { onEvent: (frame) => seqs.push(frame.seq), onEnd: () => resolve({ seqs, shared: w.shared }) }, { token: ${JSON.stringify(token)} });
        });
      })()`);
      expect(result).toEqual({ seqs: await historySeqs(gw.url, job, key), shared: false });
    } finally {
      await context.close();
    }
  });

  it('refreshes an expiring token through its callback before it expires, and reconnects with the new one', async () => {
    const first = await startJob(gw.url, 'midjourney-v3', 'long --sim-steps 8 --sim-interval 500', key);
    const later = await startJob(gw.url, 'openai-responses', 'short --sim-steps 2 --sim-interval 10', key);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.exposeFunction('mintToken', () => mintToken([first, later], 2));
      await openBench(page, gw.url, REFRESH_RUN);
      const refused = streamRequests(gw.logs, 401);
      const result = await page.evaluate(
        (args) =>
          (
            window as unknown as {
              refreshRun(a: unknown): Promise<{ calls: number; seqs: Record<string, number[]>; errors: StreamError[] }>;
            }
          ).refreshRun(args),
        { first, later },
      );
      expect(result.errors).toEqual([]);
      expect(result.calls).toBeGreaterThanOrEqual(2);
      expect(result.seqs[first]).toEqual(await historySeqs(gw.url, first, key));
      expect(result.seqs[later]).toEqual(await historySeqs(gw.url, later, key));
      // The reconnection for the longer list carried a fresh token: the gateway refused none.
      expect(streamRequests(gw.logs, 401)).toBe(refused);
      expect(streamRequests(gw.logs, 200)).toBeGreaterThanOrEqual(2);
    } finally {
      await context.close();
    }
  });
});

/** Watches `jobs` with a short back-off, recording the connection's states; resolves once every job is over. */
const BACKOFF_RUN = `window.backoffRun = async (jobs) => {
  const { watch } = await import('/client.js');
  const states = [];
  const seqs = Object.fromEntries(jobs.map((job) => [job, []]));
  return new Promise((resolve) => {
    window.backoffStates = states;
    watch(jobs, {
      onEvent: (frame) => seqs[frame.job].push(frame.seq),
      onState: (state) => states.push(state),
      onEnd: () => resolve({ states, seqs }),
    }, { shared: false, minRetryMs: 100, maxRetryMs: 400 });
  });
};`;

describe.skipIf(!hasChromium)('the browser client refused for a while (a full gateway)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ MAX_SUBSCRIBERS: '1' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('backs off and tries again until the gateway has room, then gets every event', async () => {
    const job = await startJob(gw.url, 'openai-responses', 'wait for room --sim-steps 3 --sim-interval 20');
    // Another client holds the instance's only subscriber slot: the page's stream is answered 503.
    const long = await startJob(gw.url, 'midjourney-v3', 'held --sim-steps 60 --sim-interval 500');
    const other = await holdStream(`${gw.url}/v1/jobs/${long}/stream`);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await openBench(page, gw.url, BACKOFF_RUN);
      const refusedBefore = streamRequests(gw.logs, 503);
      const run = page.evaluate(
        (jobs) =>
          (
            window as unknown as { backoffRun(jobs: string[]): Promise<{ states: ConnectionState[]; seqs: Record<string, number[]> }> }
          ).backoffRun(jobs),
        [job],
      );
      // Refused, asked why, and refused again after the back-off.
      await until(() => streamRequests(gw.logs, 503) - refusedBefore >= 3, 'refusals in a row');
      other.close();
      const result = await run;
      expect(result.seqs[job]).toEqual(await historySeqs(gw.url, job));
      expect(result.states).toContain('reconnecting');
      expect(result.states.at(-1)).toBe('closed');
    } finally {
      other.close();
      await context.close();
    }
  });
});
