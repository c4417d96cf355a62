import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';

/** A hostile page: everything a site can do to a local gateway without a CORS grant. */
const HOSTILE = (gateway: string) => `<!doctype html><meta charset="utf-8"><title>hostile</title>
<iframe name="sink"></iframe>
<form id="form" method="POST" enctype="text/plain" target="sink" action="${gateway}/v3/midjourney/jobs/imagine">
  <input name='{"prompt":"form post --sim-steps 1","stream":false,"x":"' value='"}'>
</form>
<script>
const GATEWAY = ${JSON.stringify(gateway)};
window.attack = async () => {
  const results = {};
  // A "simple" cross-site request: no preflight, the response is opaque but the POST is sent.
  await fetch(GATEWAY + '/v3/midjourney/jobs/imagine', {
    method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify({ prompt: 'no-cors post --sim-steps 1', stream: false }),
  }).then(() => (results.noCors = 'sent'), (e) => (results.noCors = String(e)));
  await fetch(GATEWAY + '/v3/midjourney/jobs/fast', { method: 'POST', mode: 'no-cors' }).then(() => (results.empty = 'sent'), () => {});
  // A form post into an iframe (a top-level navigation works the same way).
  await new Promise((resolve) => { document.querySelector('iframe').onload = resolve; document.getElementById('form').submit(); });
  results.form = 'sent';
  return results;
};
// DNS rebinding: this page's own origin now resolves to the gateway, so the request is same-origin.
window.sameOrigin = async () => {
  const response = await fetch('/v3/midjourney/jobs/imagine', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'rebound --sim-steps 1', stream: false }),
  });
  return { status: response.status, body: await response.text() };
};
</script>`;

describe.skipIf(!hasChromium)('open mode in a real browser: a hostile page cannot start jobs', () => {
  let gw: TestGateway;
  let pages: Server;
  let pagePort: number;
  let browser: Browser;

  beforeAll(async () => {
    gw = await startTestGateway({});
    pages = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(HOSTILE(gw.url)));
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pagePort = (pages.address() as AddressInfo).port;
    browser = await launchChromium([
      // Hostile names that resolve to this machine, as a public site's would after DNS rebinding.
      '--host-resolver-rules=MAP evil.test 127.0.0.1, MAP rebind.test 127.0.0.1',
      // Chromium's own local-network checks would stop the rebound page first; other browsers have none.
      '--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,LocalNetworkAccessChecks',
    ]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await new Promise<void>((resolve) => (pages ? pages.close(() => resolve()) : resolve()));
  });

  it('cross-site no-cors fetch and text/plain form posts reach the gateway but start no job', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`http://evil.test:${pagePort}/`);
      const results = await page.evaluate(() => (window as unknown as { attack(): Promise<Record<string, string>> }).attack());
      expect(results).toEqual({ noCors: 'sent', empty: 'sent', form: 'sent' });
      const stats = await gw.simStats();
      expect(stats.jobs).toBe(0);
      // The requests did arrive (and were refused): the log shows nothing was created.
      expect(gw.logs.join('')).not.toContain('job created');
    } finally {
      await page.close();
    }
  });

  it('a DNS-rebound page talking to the gateway same-origin is refused on its Host', async () => {
    const page = await browser.newPage();
    try {
      const origin = `http://rebind.test:${new URL(gw.url).port}`;
      // The attacker served this page from its own server before the name was rebound to 127.0.0.1.
      await page.route(`${origin}/`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: HOSTILE(origin) }));
      await page.goto(`${origin}/`);
      const result = await page
        .evaluate(() => (window as unknown as { sameOrigin(): Promise<{ status: number; body: string }> }).sameOrigin())
        .catch((err: unknown) => ({ status: 0, body: String(err).slice(0, 500) }));
      expect(result.status).toBe(403);
      expect(result.body).toContain('Host must be a loopback name');
      expect((await gw.simStats()).jobs).toBe(0);
    } finally {
      await page.close();
    }
  });
});
