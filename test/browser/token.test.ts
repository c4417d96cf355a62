import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { SECURED, createWithKey } from '../support/security.ts';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium.ts';

if (!hasChromium) console.warn(`test/browser skipped: ${CHROMIUM} is missing (.ci/run installs the chromium package)`);

/** The browser side, as in the README (Security, A browser app): the page gets a token from its backend and streams cross-origin. */
const PAGE = (gateway: string) => `<!doctype html><meta charset="utf-8"><title>sse-relay browser test</title>
<script>
const GATEWAY = ${JSON.stringify(gateway)};
const TERMINAL = ['midjourney_completed', 'midjourney_failed', 'midjourney_moderated', 'error'];
function watch(url, options) {
  return new Promise((resolve) => {
    const events = [];
    const source = new EventSource(url, options);
    source.onmessage = (message) => {
      const event = JSON.parse(message.data);
      events.push(event.event);
      if (TERMINAL.includes(event.event)) { source.close(); resolve({ events, error: false }); }
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) resolve({ events, error: true });
    };
  });
}
const streamUrl = (jobId) => GATEWAY + '/v3/midjourney/jobs/' + encodeURIComponent(jobId) + '/stream';
// The app backend holds the API key: it starts the job and hands the browser a job-scoped token.
async function start(prompt) {
  const response = await fetch('/api/start', { method: 'POST', body: JSON.stringify({ prompt }) });
  return response.json();
}
window.withQueryToken = async () => {
  const { jobId, token } = await start('browser --sim-steps 3 --sim-interval 20');
  return watch(streamUrl(jobId) + '?token=' + encodeURIComponent(token));
};
window.withCookie = async () => {
  const { jobId } = await start('cookie --sim-steps 2 --sim-interval 20');
  return watch(streamUrl(jobId), { withCredentials: true });
};
window.wrongJob = async (otherJobId) => {
  const { token } = await start('mine --sim-steps 1 --sim-interval 20');
  return watch(streamUrl(otherJobId) + '?token=' + encodeURIComponent(token));
};
</script>`;

describe.skipIf(!hasChromium)('a browser on another origin streams a job with a subscribe token', () => {
  let gw: TestGateway;
  let pages: Server;
  let pagePort: number;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    pages = createServer();
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pagePort = (pages.address() as AddressInfo).port;
    gw = await startTestGateway({ ...SECURED, CORS_ORIGINS: `http://127.0.0.1:${pagePort}` });
    pages.on('request', (req, res) => {
      if (req.method === 'POST' && req.url === '/api/start') {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          const { prompt } = JSON.parse(body) as { prompt: string };
          createWithKey(gw.url, prompt).then(
            ({ jobId, token }) => {
              // Same site as the gateway (cookies ignore ports): EventSource withCredentials sends it.
              res.writeHead(200, {
                'Content-Type': 'application/json',
                'Set-Cookie': `sse_relay_token=${token}; Path=/; HttpOnly; SameSite=Lax`,
              });
              res.end(JSON.stringify({ jobId, token }));
            },
            (err: unknown) => {
              res.writeHead(500).end(String(err));
            },
          );
        });
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE(gw.url));
    });
    browser = await launchChromium(['--disable-quic']);
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${pagePort}/`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await new Promise<void>((resolve) => (pages ? pages.close(() => resolve()) : resolve()));
  });

  it('receives every event to the terminal one with ?token=', async () => {
    const result = await page.evaluate(() =>
      (window as unknown as { withQueryToken(): Promise<{ events: string[]; error: boolean }> }).withQueryToken(),
    );
    expect(result.error).toBe(false);
    expect(result.events).toEqual([
      'initialized',
      'midjourney_created',
      'midjourney_started',
      'midjourney_progress',
      'midjourney_progress',
      'midjourney_progress',
      'midjourney_completed',
    ]);
  });

  it('works with the token in a cookie and EventSource withCredentials (CORS with credentials)', async () => {
    const result = await page.evaluate(() =>
      (window as unknown as { withCookie(): Promise<{ events: string[]; error: boolean }> }).withCookie(),
    );
    expect(result.error).toBe(false);
    expect(result.events.at(-1)).toBe('midjourney_completed');
  });

  it('a token for another job fails: EventSource errors and gives up', async () => {
    const other = await createWithKey(gw.url, 'other --sim-steps 1 --sim-interval 20');
    const result = await page.evaluate(
      (id) => (window as unknown as { wrongJob(id: string): Promise<{ events: string[]; error: boolean }> }).wrongJob(id),
      other.jobId,
    );
    expect(result).toEqual({ events: [], error: true });
  });

  it('a page on an origin outside CORS_ORIGINS cannot read the stream, even with a valid token', async () => {
    const stranger = await browser.newPage();
    try {
      await stranger.goto(`http://localhost:${pagePort}/`);
      const result = await stranger.evaluate(() =>
        (window as unknown as { withQueryToken(): Promise<{ events: string[]; error: boolean }> }).withQueryToken(),
      );
      expect(result).toEqual({ events: [], error: true });
    } finally {
      await stranger.close();
    }
  });
});
