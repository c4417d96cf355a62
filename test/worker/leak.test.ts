import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WorkerDev, startWorkerDev } from '../../scripts/worker-dev.ts';
import { findDecoded } from '../support/decode.ts';
import type { FakeUpstream } from '../support/fake-upstream.ts';
import { parsedFrames, runHostileScenario, startHostileUpstream } from '../support/hostile-upstream.ts';
import { API_KEY, SECURED, TOKEN_SECRET } from '../support/security.ts';
import { workerTestVars } from '../support/worker.ts';

// The Worker's front, its JobStarter and its JobObjects each redact with every configured secret.
const CANARY = 'tok-LEAK-CANARY-worker-5678';
let upstream: FakeUpstream;
let dev: WorkerDev | undefined;
beforeAll(async () => {
  upstream = await startHostileUpstream([CANARY, API_KEY, TOKEN_SECRET]);
  dev = await startWorkerDev({
    vars: workerTestVars({ ...SECURED, UPSTREAM_URL: upstream.url, UPSTREAM_TOKEN: CANARY, POLL_INTERVAL_MS: '30', LOG_LEVEL: 'debug' }),
  });
}, 90_000);
afterAll(async () => {
  await dev?.close();
  await upstream?.close();
});

describe('Worker: a hostile upstream echoing every secret in every encoding', () => {
  it('nothing decodable reaches subscribers, re-serialised replies or logs', async () => {
    const seen = await runHostileScenario((dev as WorkerDev).url);
    const texts = [
      ...seen.flatMap((c) => [
        [`${c.what} headers`, c.headers],
        [`${c.what} body`, c.body],
      ]),
      ...parsedFrames(seen).map((frame) => ['parsed frame', frame]),
      ...(dev as WorkerDev).output
        .join('')
        .split('\n')
        .map((line) => ['log line', line]),
    ];
    for (const [what, text] of texts) {
      for (const secret of [CANARY, API_KEY, TOKEN_SECRET]) {
        const decoded = findDecoded(text as string, secret);
        expect(decoded === undefined, `${what} decodes to a secret: ${decoded?.slice(0, 300)}`).toBe(true);
      }
    }
    expect(seen.filter((c) => c.body.includes('[redacted]')).length).toBeGreaterThanOrEqual(8);
    expect((dev as WorkerDev).output.join('')).toContain('job created');
  }, 60_000);
});
