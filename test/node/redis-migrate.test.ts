import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import { profileBus } from '../../src/core/bus/profile-bus.ts';
import { createRedisBus } from '../../src/node/redis-bus.ts';
import { GATEWAY_LEGACY_LAYOUT, migrateLegacyJobs } from '../../src/node/redis-migrate.ts';
import { freePort } from '../support/free-port.ts';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { type LegacyEvent, legacyKeys, writeLegacyJob } from '../support/legacy-redis.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { readSse, streamUrl } from '../support/sse.ts';
import { until } from '../support/until.ts';

// Jobs written in the pre-profile layout (test/support/legacy-redis.ts), moved by the migration,
// then served by the current gateway.

const newKeys = (jobId: string) => legacyKeys(`midjourney-v3:${jobId}`);
const layout = GATEWAY_LEGACY_LAYOUT;

/** A Midjourney job's events as the vendor sent them (ids like useapi's carry a `:`). */
function midjourneyEvents(jobId: string, status: 'completed' | 'progress'): LegacyEvent[] {
  const job = (state: string, extra: object = {}) => ({
    jobid: jobId,
    verb: 'imagine',
    status: state,
    created: '2026-11-30T10:00:00.000Z',
    ...extra,
  });
  const withJob = (seq: number, event: string, body: object, terminal = false): LegacyEvent => {
    const data = JSON.stringify({ event, job: body, seq, ts: `10:00:0${seq}.000` });
    return { seq, data, terminal, snapshot: data };
  };
  const events: LegacyEvent[] = [
    {
      seq: 0,
      data: JSON.stringify({ event: 'initialized', message: 'Stream initialized', jobId, seq: 0, ts: '10:00:00.000' }),
      terminal: false,
    },
    withJob(1, 'midjourney_created', job('created')),
    withJob(2, 'midjourney_progress', job('progress', { response: { progress_percent: 50 } })),
  ];
  if (status === 'completed')
    events.push(withJob(3, 'midjourney_completed', job('completed', { response: { progress_percent: 100 } }), true));
  return events;
}

let redis: RedisServer;
let client: Redis;
let gateway: TestGateway | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
});
afterAll(async () => {
  await client?.quit();
  await redis?.stop();
});
beforeEach(async () => {
  await client.flushall();
});
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

/** Every key's type, value and whether it expires: what a no-op run must leave as it was. */
async function dump(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await client.keys('*')).sort()) {
    const type = await client.type(key);
    const value =
      type === 'stream' ? await client.xrange(key, '-', '+') : type === 'hash' ? await client.hgetall(key) : await client.get(key);
    out[key] = { type, value, expires: (await client.pttl(key)) > 0 };
  }
  return out;
}

describe('migrating pre-profile Redis keys', () => {
  it('moves a finished job whole, TTLs kept; the gateway serves its history on both paths; a second run is a no-op', async () => {
    const jobId = 'j1130100000000000001-bot:midjourney';
    const events = midjourneyEvents(jobId, 'completed');
    await writeLegacyJob(client, jobId, events, { terminalTtlMs: 3_600_000 });
    const ttl = await client.pttl(legacyKeys(jobId).meta);
    expect(ttl).toBeGreaterThan(3_500_000);

    // A gateway started before the move says what it cannot read.
    gateway = await startTestGateway({ REDIS_URL: redis.url });
    await until(
      () => gateway!.logs.join(''),
      (logs) => logs.includes('pre-profile key layout'),
    );

    expect(await migrateLegacyJobs(client, layout, silentLogger)).toEqual({ found: 1, moved: 1, kept: 0, gone: 0 });
    expect(await client.exists(legacyKeys(jobId).events, legacyKeys(jobId).meta)).toBe(0);
    for (const key of [newKeys(jobId).events, newKeys(jobId).meta]) {
      const moved = await client.pttl(key);
      expect(moved).toBeLessThanOrEqual(ttl);
      expect(moved).toBeGreaterThan(ttl - 60_000);
    }

    const expected = events.map((event) => ({ id: String(event.seq), data: event.data }));
    for (const url of [`${gateway.url}/v1/jobs/midjourney-v3/${encodeURIComponent(jobId)}/stream`, streamUrl(gateway.url, jobId)]) {
      const read = await readSse(url);
      expect(read.status, url).toBe(200);
      expect(read.events.map(({ id, data }) => ({ id, data }))).toEqual(expected);
    }
    const snapshot = await fetch(`${gateway.url}/v3/midjourney/jobs/${encodeURIComponent(jobId)}`);
    expect(await snapshot.json()).toMatchObject({ jobid: jobId, status: 'completed' });

    const before = await dump();
    expect(await migrateLegacyJobs(client, layout, silentLogger)).toEqual({ found: 0, moved: 0, kept: 0, gone: 0 });
    expect(await dump()).toEqual(before);
  });

  it('moves a running job with its lease; a job already under its new name and other profiles are left alone', async () => {
    const live = 'j1130100000000000002-bot:midjourney';
    await writeLegacyJob(client, live, midjourneyEvents(live, 'progress'), { lease: { owner: 'old-instance', ttlMs: 60_000 } });
    // Written before the upgrade, and again since under the new name (a job the new gateway already followed).
    const both = 'j1130100000000000003-bot:midjourney';
    await writeLegacyJob(client, both, midjourneyEvents(both, 'completed'));
    const bus = createRedisBus({ url: redis.url, historyMaxEvents: 100, historyTtlMs: 60_000 });
    try {
      await profileBus(bus, 'midjourney-v3:').append(both, {
        seq: 0,
        data: '{"event":"initialized","seq":0,"newer":true}',
        terminal: false,
      });
      await profileBus(bus, 'fal-queue:').append('fal-ai:flux:r1', { seq: 0, data: '{"status":"IN_QUEUE"}', terminal: false });
    } finally {
      await bus.close();
    }
    const newer = await client.xrange(newKeys(both).events, '-', '+');

    expect(await migrateLegacyJobs(client, layout, silentLogger)).toEqual({ found: 2, moved: 1, kept: 1, gone: 0 });
    expect(await client.get(newKeys(live).lease)).toBe('old-instance');
    const leaseTtl = await client.pttl(newKeys(live).lease);
    expect(leaseTtl).toBeGreaterThan(0);
    expect(leaseTtl).toBeLessThanOrEqual(60_000);
    expect(await client.xlen(newKeys(live).events)).toBe(3);
    expect(await client.hget(newKeys(live).meta, 'lastSeq')).toBe('2');
    expect(await client.xrange(newKeys(both).events, '-', '+')).toEqual(newer);
    expect(await client.exists(legacyKeys(both).events)).toBe(1);
    expect(await client.exists('sse-relay:{fal-queue:fal-ai:flux:r1}:events')).toBe(1);

    const before = await dump();
    expect(await migrateLegacyJobs(client, layout, silentLogger)).toEqual({ found: 1, moved: 0, kept: 1, gone: 0 });
    expect(await dump()).toEqual(before);
  });

  it('two runs at once move each job once', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `j11301000000000001${String(i).padStart(2, '0')}-bot:midjourney`);
    for (const id of ids) await writeLegacyJob(client, id, midjourneyEvents(id, 'completed'));
    const other = new Redis(redis.url);
    try {
      const reports = await Promise.all([migrateLegacyJobs(client, layout, silentLogger), migrateLegacyJobs(other, layout, silentLogger)]);
      expect(reports.reduce((sum, report) => sum + report.moved, 0)).toBe(30);
      expect(reports.every((report) => report.kept === 0 && report.moved + report.gone === report.found)).toBe(true);
    } finally {
      await other.quit();
    }
    for (const id of ids) expect(await client.xlen(newKeys(id).events)).toBe(4);
  });

  it('npm run migrate:redis logs the counts and exits 0; again, it finds nothing', async () => {
    const jobId = 'j1130100000000000004-bot:midjourney';
    await writeLegacyJob(client, jobId, midjourneyEvents(jobId, 'completed'));
    const run = (url = redis.url) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/node/migrate.ts', '--dev'], {
        env: { PATH: process.env.PATH ?? '', REDIS_URL: url },
      });
    const first = await run();
    expect(first.stdout).toMatch(/"moved":1.*redis migration done/);
    expect(await client.exists(newKeys(jobId).events)).toBe(1);
    const second = await run();
    expect(second.stdout).toMatch(/"found":0.*no old-layout jobs/);
    // Redis unreachable: exit 1, the reason logged, the URL's password never.
    const unreachable = await run(`redis://:secret-pass-123@127.0.0.1:${await freePort()}`).catch(
      (err: { code: number; stdout: string }) => err,
    );
    expect(unreachable).toMatchObject({ code: 1, stdout: expect.stringContaining('redis migration failed') });
    expect(JSON.stringify(unreachable)).not.toContain('secret-pass-123');
  });
});
