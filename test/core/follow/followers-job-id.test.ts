import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../src/core/errors.ts';
import { createFollowers } from '../../../src/core/follow/followers.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import type { UpstreamClient } from '../../../src/core/ingest/upstream.ts';
import { jobApiClient, midjourneyFollow } from '../../support/job-api.ts';

const upstream: UpstreamClient = jobApiClient(async () => {
  throw new Error('not expected');
});

describe('a job id named by the upstream', () => {
  it('is refused before it becomes a bus key when it is unsafe', async () => {
    const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
    const followers = createFollowers({
      ...midjourneyFollow,
      bus,
      upstream,
      logger: silentLogger,
      owner: 't',
      leaseMs: 1000,
      pollIntervalMs: 10,
      jobDeadlineMs: 10_000,
    });
    const body = new Response('data: {"event":"initialized","jobId":"../x\\r\\nid: 9","seq":0}\n\n').body as ReadableStream<Uint8Array>;
    await expect(followers.followStream(body)).rejects.toBeInstanceOf(RelayError);
    expect(await bus.state('../x\r\nid: 9')).toBeNull();
    await followers.close();
  });
});
