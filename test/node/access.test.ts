import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_ENV, accessScenarios, expectError, lastEvent } from '../scenarios/access.ts';
import { multiplexAccessScenarios } from '../scenarios/multiplex.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { SECURED, createWithKey } from '../support/security.ts';
import { readSse, streamUrl } from '../support/sse.ts';

// Access control on the Node gateway; the same scenarios run in workerd (test/worker/access.test.ts).
// Node-only here: its start-up log and a second gateway with SUBSCRIBE_PUBLIC.
let gw: TestGateway;
let pub: TestGateway;
beforeAll(async () => {
  [gw, pub] = await Promise.all([startTestGateway(ACCESS_ENV), startTestGateway({ ...SECURED, SUBSCRIBE_PUBLIC: 'true' })]);
});
afterAll(async () => {
  await Promise.all([gw.close(), pub.close()]);
});

accessScenarios(() => gw.scenarioTarget());
multiplexAccessScenarios(() => gw.scenarioTarget());

describe('start-up warnings', () => {
  it('warns loudly when open and when tokens use a random secret; not when configured', async () => {
    const open = await startTestGateway({});
    try {
      const logs = open.logs.join('');
      expect(logs).toMatch(/"level":40.*GATEWAY_OPEN=true: the gateway is OPEN/);
      expect(logs).toMatch(/SUBSCRIBE_TOKEN_SECRET is not set/);
    } finally {
      await open.close();
    }
    expect(gw.logs.join('')).not.toMatch(/is not set/);
  });
});

describe('a public subscribe', () => {
  it('SUBSCRIBE_PUBLIC=true opens reading, not creating', async () => {
    const { jobId } = await createWithKey(pub.url, 'p --sim-steps 1 --sim-interval 5');
    expect(lastEvent(await readSse(streamUrl(pub.url, jobId)))).toBe('midjourney_completed');
    await expectError(
      await fetch(`${pub.url}/v3/midjourney/jobs/imagine`, { method: 'POST', body: '{"prompt":"x"}' }),
      401,
      'unauthorized',
    );
  });
});
