import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CANARY,
  LEAK_SECRETS,
  type LeakTarget,
  expectNoLeak,
  hostileUpstreamLeakScenarios,
  runEverything,
  upstreamTokenLeakScenarios,
} from '../scenarios/leak.ts';
import type { FakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startHostileUpstream } from '../support/hostile-upstream.ts';
import { SECURED, withKey } from '../support/security.ts';
import { type TestSimulator, startTestSimulator } from '../support/worker.ts';

// Secrets never leave the Node gateway; the shared scenarios run in workerd too (test/worker/leak.test.ts).
// Node-only here: the in-process simulator (SIM_TOKEN), replyUrl filtering, an unreachable upstream.
const leakTarget =
  (gw: () => TestGateway): (() => LeakTarget) =>
  () => ({ url: gw().url, logs: () => gw().logs });

describe('the upstream token never leaves: in-process simulator with SIM_TOKEN', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ ...SECURED, SIM_TOKEN: CANARY, POLL_INTERVAL_MS: '30', LOG_LEVEL: 'trace' });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('not in any response header or body, SSE frame or log line, in any scenario', async () => {
    const seen = await runEverything(gw.url, gw.simulatorUrl as string);
    expect(seen.find((c) => c.what === 'stream success')?.status).toBe(200);
    expectNoLeak(seen, gw.logs);
  });

  it('does not forward replyUrl (webhooks, under any spelling) or undocumented fields unless ALLOW_REPLY_URL=true', async () => {
    const created = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({
        prompt: 'w --sim-steps 1 --sim-interval 5',
        stream: false,
        replyUrl: 'https://hook.example/cb',
        replyURL: 'https://hook.example/cb',
        reply_url: 'https://hook.example/cb',
        webhookUrl: 'https://hook.example/cb',
        replyRef: 'r1',
        channel: 'leak-test',
      }),
    });
    const { jobid } = (await created.json()) as { jobid: string };
    const upstream = await fetch(`${gw.simulatorUrl}/jobs/${encodeURIComponent(jobid)}`, {
      headers: { Authorization: `Bearer ${CANARY}` },
    });
    const request = ((await upstream.json()) as { request: Record<string, unknown> }).request;
    // Only the vendor's documented fields are forwarded: no other spelling of a webhook reaches it.
    expect(Object.keys(request).sort()).toEqual(['channel', 'prompt', 'replyRef', 'stream']);
    expect(request.replyRef).toBe('r1');
  });
});

describe('a separate upstream', () => {
  let simulator: TestSimulator;
  let gw: TestGateway;
  beforeAll(async () => {
    simulator = await startTestSimulator({ token: CANARY });
    gw = await startTestGateway({
      ...SECURED,
      UPSTREAM_URL: simulator.url,
      UPSTREAM_TOKEN: CANARY,
      POLL_INTERVAL_MS: '30',
      ALLOW_REPLY_URL: 'true',
    });
  });
  afterAll(async () => {
    await gw.close();
    await simulator.close();
  });

  upstreamTokenLeakScenarios(
    leakTarget(() => gw),
    () => simulator.url,
  );

  it('nor when the upstream is unreachable', async () => {
    const down = await startTestGateway({ ...SECURED, UPSTREAM_URL: 'http://127.0.0.1:9/v3/midjourney', UPSTREAM_TOKEN: CANARY });
    try {
      const response = await fetch(`${down.url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: withKey({ 'Content-Type': 'application/json' }),
        body: '{"prompt":"x"}',
      });
      expect(response.status).toBe(502);
      const text = (await response.text()) + JSON.stringify([...response.headers]) + down.logs.join('');
      expectNoLeak([], [text], 0);
    } finally {
      await down.close();
    }
  });
});

describe('a hostile upstream', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  beforeAll(async () => {
    upstream = await startHostileUpstream([...LEAK_SECRETS]);
    gw = await startTestGateway({
      ...SECURED,
      UPSTREAM_URL: upstream.url,
      UPSTREAM_TOKEN: CANARY,
      POLL_INTERVAL_MS: '30',
      LOG_LEVEL: 'trace',
    });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  hostileUpstreamLeakScenarios(leakTarget(() => gw));
});
