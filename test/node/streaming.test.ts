import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamingScenarios } from '../scenarios/streaming.ts';
import { createJob } from '../support/sse.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ HEARTBEAT_MS: '100', POLL_INTERVAL_MS: '50' });
});
afterAll(async () => {
  await gw.close();
});

streamingScenarios(() => gw.scenarioTarget());

describe('metrics', () => {
  it('exposes Prometheus counters and gauges that move with traffic', async () => {
    await createJob(gw.url, 'metered --sim-steps 1 --sim-interval 5');
    const response = await fetch(`${gw.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    const value = (name: string) => Number(new RegExp(`^${name}\\{profile="midjourney-v3"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('sse_relay_jobs_created_total')).toBeGreaterThan(0);
    expect(value('sse_relay_upstream_streams_total')).toBeGreaterThan(0);
    expect(value('sse_relay_events_appended_total')).toBeGreaterThan(4);
    expect(value('sse_relay_subscribers')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('sse_relay_process_resident_memory_bytes');
  });
});
