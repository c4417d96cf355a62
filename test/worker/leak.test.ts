import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WorkerDev, startWorkerDev } from '../../scripts/worker-dev.ts';
import { CANARY, LEAK_SECRETS, type LeakTarget, hostileUpstreamLeakScenarios, upstreamTokenLeakScenarios } from '../scenarios/leak.ts';
import { replicateTokenLeakScenarios } from '../scenarios/leak-replicate.ts';
import type { FakeUpstream } from '../support/fake-upstream.ts';
import { startHostileUpstream } from '../support/hostile-upstream.ts';
import { API_KEY, SECURED } from '../support/security.ts';
import { type TestSimulator, startTestSimulator, workerTestVars } from '../support/worker.ts';

// The Worker's front, its JobStarter and its JobObjects each redact with every configured secret:
// the same scenarios as on Node (test/node/leak.test.ts), wrangler's output as the log.
const leakTarget =
  (dev: () => WorkerDev | undefined): (() => LeakTarget) =>
  () => {
    const running = dev() as WorkerDev;
    return { url: running.url, logs: () => running.output.join('').split('\n') };
  };

describe('Worker: a hostile upstream', () => {
  let upstream: FakeUpstream;
  let dev: WorkerDev | undefined;
  beforeAll(async () => {
    upstream = await startHostileUpstream([...LEAK_SECRETS]);
    dev = await startWorkerDev({
      vars: workerTestVars({ ...SECURED, UPSTREAM_URL: upstream.url, UPSTREAM_TOKEN: CANARY, POLL_INTERVAL_MS: '30', LOG_LEVEL: 'debug' }),
    });
  }, 90_000);
  afterAll(async () => {
    await dev?.close();
    await upstream?.close();
  });

  hostileUpstreamLeakScenarios(leakTarget(() => dev));

  it('logged the jobs it ran (so the log lines checked above are real)', () => {
    expect((dev as WorkerDev).output.join('')).toContain('job created');
  });
});

describe('Worker: a separate upstream', () => {
  let simulator: TestSimulator;
  let dev: WorkerDev | undefined;
  beforeAll(async () => {
    simulator = await startTestSimulator({ token: CANARY });
    dev = await startWorkerDev({
      vars: workerTestVars({
        ...SECURED,
        UPSTREAM_URL: simulator.url,
        UPSTREAM_TOKEN: CANARY,
        // The same simulator's Replicate, with the same canary as its token.
        REPLICATE_BASE_URL: `${new URL(simulator.url).origin}/replicate/v1`,
        REPLICATE_API_TOKEN: CANARY,
        POLL_INTERVAL_MS: '30',
        ALLOW_REPLY_URL: 'true',
        LOG_LEVEL: 'debug',
      }),
    });
  }, 90_000);
  afterAll(async () => {
    await dev?.close();
    await simulator?.close();
  });

  upstreamTokenLeakScenarios(
    leakTarget(() => dev),
    () => simulator.url,
  );

  replicateTokenLeakScenarios(() => {
    const running = dev as WorkerDev;
    return { url: running.url, token: CANARY, apiKey: API_KEY, logs: () => running.output.join('').split('\n') };
  });
});
