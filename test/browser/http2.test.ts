import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../support/chromium.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { selfSignedCertificate } from '../support/tls.ts';

/** In the page: starts `count` long jobs, opens one EventSource each, and reports once every one has an event (or one has ended). */
const WATCH = async ({ count, steps, intervalMs }: { count: number; steps: number; intervalMs: number }) => {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch('/v3/midjourney/jobs/imagine', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: `tab ${i} --sim-steps ${steps} --sim-interval ${intervalMs}`, stream: false }),
    });
    ids.push(((await response.json()) as { jobid: string }).jobid);
  }
  return new Promise<{ withEvents: number; ended: number; protocols: string[] }>((resolve) => {
    const got = new Set<number>();
    let ended = 0;
    const sources = ids.map((id, i) => {
      const source = new EventSource(`/v1/jobs/midjourney-v3/${encodeURIComponent(id)}/stream`);
      source.onmessage = () => {
        got.add(i);
        if (got.size === count) done();
      };
      source.onerror = () => {
        ended++;
        done();
      };
      return source;
    });
    function done() {
      for (const source of sources) source.close();
      // Open streams have no timing entry yet: the page's own load and its creates show the protocol.
      const protocols = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].map(
        (entry) => (entry as PerformanceResourceTiming).nextHopProtocol,
      );
      resolve({ withEvents: got.size, ended, protocols });
    }
  });
};

describe.skipIf(!hasChromium)('HTTP/2 in a real browser: more than six EventSources on one origin', () => {
  let dir: string;
  let gw: TestGateway;
  let browser: Browser;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sse-relay-browser-h2-'));
    const tls = selfSignedCertificate(dir);
    gw = await startTestGateway({ TLS_CERT_FILE: tls.certFile, TLS_KEY_FILE: tls.keyFile });
    browser = await launchChromium(['--ignore-certificate-errors']);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets events on 10 job streams at once', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${gw.url}/healthz`);
      const result = await page.evaluate(WATCH, { count: 10, steps: 50, intervalMs: 200 });
      // Every stream had an event while all ten were open: none had to wait for another to end.
      expect(result).toMatchObject({ withEvents: 10, ended: 0 });
      expect(result.protocols.length).toBeGreaterThanOrEqual(11);
      expect(new Set(result.protocols)).toEqual(new Set(['h2']));
    } finally {
      await page.close();
    }
  });

  it('over HTTP/1.1 (the same gateway without TLS) holds the 7th stream until another ends', async () => {
    const plain = await startTestGateway();
    const page = await browser.newPage();
    try {
      await page.goto(`${plain.url}/healthz`);
      // Short jobs: the first to end lets a waiting stream connect, and the page reports then.
      const result = await page.evaluate(WATCH, { count: 10, steps: 8, intervalMs: 100 });
      expect(result.ended).toBeGreaterThan(0);
      expect(result.withEvents).toBeLessThan(10);
      expect(new Set(result.protocols)).toEqual(new Set(['http/1.1']));
    } finally {
      await page.close();
      await plain.close();
    }
  });
});
