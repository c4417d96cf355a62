import { describe, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway.ts';
import { startGatewayProcess } from '../support/gateway-process.ts';
import { createJobId, readSse, streamUrl } from '../support/sse.ts';
import { until } from '../support/until.ts';

/** Drain windows are seconds long: waits get 30 s. */
const patient = { timeoutMs: 30_000, intervalMs: 10 };

describe('shutdown drain', () => {
  it('ends open streams spread over DRAIN_MS instead of all at once, and logs the drain', async () => {
    const gateway = await startTestGateway({ DRAIN_MS: '4000' });
    const jobId = await createJobId(gateway.url, 'drain --sim-steps 99 --sim-interval 1000');
    const streams = 10;
    let ended = 0;
    const reads = Array.from({ length: streams }, () =>
      readSse(streamUrl(gateway.url, jobId), { timeoutMs: 60_000 }).finally(() => void ended++),
    );
    await until(() => gateway.relay.counts().subscribers === streams, patient);

    const closing = gateway.close();
    await until(() => ended >= 1, patient);
    // Spread over 4 s, most streams are still open when the first has ended (all at once: none).
    expect(gateway.relay.counts().subscribers).toBeGreaterThanOrEqual(streams / 2);
    await closing;
    const results = await Promise.all(reads);
    for (const result of results) {
      expect(result.status).toBe(200);
      expect(result.retry).toBe(2000);
    }
    const logs = gateway.logs.map((line) => JSON.parse(line) as { msg: string; profile?: string; streams?: number; windowMs?: number });
    // Each profile's relay drains its own streams; these are midjourney-v3's.
    const ours = logs.filter((l) => l.profile === 'midjourney-v3');
    expect(ours.find((l) => l.msg.startsWith('drain started'))).toMatchObject({ streams, windowMs: 4000 });
    expect(ours.find((l) => l.msg === 'drain done')).toMatchObject({ streams });
  }, 60_000);

  it('ends everything at once with DRAIN_MS=0', async () => {
    const gateway = await startTestGateway({ DRAIN_MS: '0' });
    const jobId = await createJobId(gateway.url, 'drain now --sim-steps 99 --sim-interval 1000');
    const read = readSse(streamUrl(gateway.url, jobId), { timeoutMs: 30_000 });
    await until(() => gateway.relay.counts().subscribers === 1, patient);
    await gateway.close();
    expect((await read).status).toBe(200);
  });

  it('drains on SIGTERM before the process exits', async () => {
    const gateway = await startGatewayProcess('drain', { DRAIN_MS: '2000', LOG_LEVEL: 'info' });
    const jobId = await createJobId(gateway.url, 'sigterm --sim-steps 99 --sim-interval 1000');
    const reads = Array.from({ length: 4 }, () => readSse(streamUrl(gateway.url, jobId), { timeoutMs: 30_000 }));
    await until(
      () => fetch(`${gateway.url}/metrics`).then((response) => response.text()),
      (metrics) => /^sse_relay_subscribers\{profile="midjourney-v3"\} 4$/m.test(metrics),
      { ...patient, what: 'four streams open' },
    );
    await gateway.stop('SIGTERM');
    await Promise.all(reads);
    expect(gateway.output()).toContain('drain started');
    expect(gateway.output()).toContain('"msg":"drain done"');
  }, 60_000);
});
