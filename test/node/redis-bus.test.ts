import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/core/bus/bus.ts';
import { JobHub } from '../../src/core/fanout/hub.ts';
import { createRedisBus } from '../../src/node/redis-bus.ts';
import { CONTRACT_RETENTION, busContracts } from '../core/bus/contracts/index.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { until } from '../support/until.ts';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

busContracts('redis', async () => {
  const a = createRedisBus({ url: server.url, ...CONTRACT_RETENTION });
  const b = createRedisBus({ url: server.url, ...CONTRACT_RETENTION });
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
});

let counter = 0;
const newJob = () => `j${Date.now()}-${counter++}-u1-c2-bot:midjourney`;
const ev = (seq: number, terminal = false) => ({ seq, data: `{"event":"e","seq":${seq}}`, terminal });

function recordingLogger() {
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (_: Record<string, unknown>, message: string) => void warnings.push(message) };
  return { logger, warnings };
}

describe('Redis bus', () => {
  const retention = { historyMaxEvents: 100, historyTtlMs: 60_000 };
  let raw: Redis;
  beforeAll(() => {
    raw = new Redis(server.url);
  });
  afterAll(async () => {
    await raw.quit();
  });

  it('stores and delivers an event published twice once', async () => {
    const a = createRedisBus({ url: server.url, ...retention });
    const b = createRedisBus({ url: server.url, ...retention });
    const job = newJob();
    const onA: StoredEvent[] = [];
    const onB: StoredEvent[] = [];
    const offs = [await a.subscribe(job, (e) => onA.push(e)), await b.subscribe(job, (e) => onB.push(e))];
    const results = await Promise.all([a.append(job, ev(0)), b.append(job, ev(0)), a.append(job, ev(0))]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    // The marker: appended after every append of seq 0 returned, and a channel delivers in publish
    // order, so once it arrived on both instances any copy of seq 0 would have arrived before it.
    await a.append(job, ev(1, true));
    await until(() => onA.at(-1)?.seq === 1 && onB.at(-1)?.seq === 1, 'the marker on both instances');
    expect(onA.map((e) => e.seq)).toEqual([0, 1]);
    expect(onB).toEqual(onA);
    expect(await raw.xlen(`sse-relay:{${job}}:events`)).toBe(2);
    for (const off of offs) await off();
    await Promise.all([a.close(), b.close()]);
  });

  it('drops malformed messages on a job channel and keeps delivering', async () => {
    const { logger, warnings } = recordingLogger();
    const bus = createRedisBus({ url: server.url, ...retention, logger });
    const job = newJob();
    const seen: StoredEvent[] = [];
    const off = await bus.subscribe(job, (e) => seen.push(e));
    const channel = `sse-relay:{${job}}`;
    for (const garbage of [
      '',
      'hello',
      '1\n2\n0\nx',
      'x\n-1\n0\n{}',
      '3\n-7\n0\n{}',
      '3\n1\nyes\n{}',
      '\u0000\n\n\n',
      '9007199254740993\n-1\n0\n{}',
    ]) {
      await raw.publish(channel, garbage);
    }
    await bus.append(job, { ...ev(0), data: 'line one\nline two' });
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual({ seq: 0, prev: -1, data: 'line one\nline two', terminal: false });
    expect(warnings.filter((w) => w === 'dropped a malformed bus message')).toHaveLength(8);
    await off();
    await bus.close();
  });

  it('keeps a job under one hash tag, with a safety TTL while running and HISTORY_TTL after the end', async () => {
    const bus = createRedisBus({ url: server.url, ...retention });
    const job = newJob();
    await bus.append(job, { ...ev(0), snapshot: '{"job":{}}' });
    await bus.acquireLease(job, 'me', 5000);
    const keys = (await raw.keys(`sse-relay:{${job}}*`)).sort();
    expect(keys).toEqual([`sse-relay:{${job}}:events`, `sse-relay:{${job}}:lease`, `sse-relay:{${job}}:meta`]);
    for (const key of keys) expect(key.slice(key.indexOf('{') + 1, key.indexOf('}'))).toBe(job);
    expect(await raw.pttl(keys[0] as string)).toBeGreaterThan(retention.historyTtlMs);
    expect(await raw.pttl(keys[1] as string)).toBeLessThanOrEqual(5000);
    await bus.append(job, ev(1, true));
    for (const key of [keys[0], keys[2]] as string[]) {
      const ttl = await raw.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(retention.historyTtlMs);
    }
    await bus.close();
  });

  it('uses one subscriber connection per instance however many jobs, and unsubscribes after the last listener', async () => {
    const a = createRedisBus({ url: server.url, ...retention, keyPrefix: 'fanout-test' });
    const b = createRedisBus({ url: server.url, ...retention, keyPrefix: 'fanout-test' });
    await Promise.all([a.ping(), b.ping()]);
    const jobs = Array.from({ length: 30 }, newJob);
    const offs = [];
    for (const job of jobs) {
      offs.push(await a.subscribe(job, () => {}), await a.subscribe(job, () => {}), await b.subscribe(job, () => {}));
    }
    const clients = (await raw.client('LIST')) as string;
    expect(clients.split('\n').filter((line) => line.includes('name=fanout-test:sub '))).toHaveLength(2);
    expect(clients.split('\n').filter((line) => line.includes('name=fanout-test:bus '))).toHaveLength(2);
    expect(await raw.pubsub('CHANNELS', 'fanout-test:*')).toHaveLength(30);
    const numsub = (await raw.pubsub('NUMSUB', `fanout-test:{${jobs[0]}}`)) as [string, number];
    expect(numsub[1]).toBe(2);
    await offs[0]?.();
    await offs[0]?.();
    expect(((await raw.pubsub('NUMSUB', `fanout-test:{${jobs[0]}}`)) as [string, number])[1]).toBe(2);
    await offs[1]?.();
    expect(((await raw.pubsub('NUMSUB', `fanout-test:{${jobs[0]}}`)) as [string, number])[1]).toBe(1);
    for (const off of offs) await off();
    expect(await raw.pubsub('CHANNELS', 'fanout-test:*')).toEqual([]);
    expect(a.channelCount() + b.channelCount()).toBe(0);
    await Promise.all([a.close(), b.close()]);
  });

  it('catches a subscriber up on what was published while its connection was down', async () => {
    const a = createRedisBus({ url: server.url, ...retention, keyPrefix: 'catchup-test' });
    const b = createRedisBus({ url: server.url, ...retention, keyPrefix: 'catchup-test' });
    for (let round = 0; round < 5; round++) {
      const job = newJob();
      const seen: StoredEvent[] = [];
      const off = await a.subscribe(job, (e) => seen.push(e));
      for (let seq = 0; seq < 3; seq++) await b.append(job, ev(seq));
      await until(() => seen.length === 3);
      await raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      for (let seq = 3; seq < 6; seq++) await b.append(job, ev(seq));
      await until(() => seen.some((e) => e.seq === 5), 'the events published while down');
      // The marker, appended once seq 5 arrived: a catch-up replaying history, or a late copy, would
      // deliver before it (live events wait while a catch-up runs), so it ends what can arrive.
      await b.append(job, ev(6, true));
      await until(() => seen.at(-1)?.seq === 6, 'the marker');
      expect(seen.map((e) => [e.seq, e.prev])).toEqual([
        [0, -1],
        [1, 0],
        [2, 1],
        [3, 2],
        [4, 3],
        [5, 4],
        [6, 5],
      ]);
      await off();
    }
    await Promise.all([a.close(), b.close()]);
  });
});

describe('Redis bus while Redis is down', () => {
  it('fails fast instead of hanging, and works again once Redis is back', async () => {
    const own = await startRedisServer();
    const { logger, warnings } = recordingLogger();
    const bus = createRedisBus({ url: own.url, historyMaxEvents: 10, historyTtlMs: 60_000, commandTimeoutMs: 500, logger });
    const job = newJob();
    const seen: StoredEvent[] = [];
    const off = await bus.subscribe(job, (e) => seen.push(e));
    await bus.append(job, ev(0));
    await until(() => seen.length === 1);

    await own.stop();
    const unavailable = { name: 'RelayError', code: 'unavailable', status: 503 };
    await expect(bus.ping()).rejects.toMatchObject(unavailable);
    await expect(bus.append(job, ev(1))).rejects.toMatchObject(unavailable);
    await expect(bus.history(job, -1)).rejects.toMatchObject(unavailable);
    await expect(bus.state(job)).rejects.toMatchObject(unavailable);
    await expect(bus.acquireLease(job, 'me', 1000)).rejects.toMatchObject(unavailable);
    await expect(bus.subscribe(newJob(), () => {})).rejects.toMatchObject(unavailable);
    expect(warnings).toContain('redis connection lost; retrying');

    await own.start();
    await until(
      async () =>
        bus.ping().then(
          () => true,
          () => false,
        ),
      10_000,
    );
    // The restarted server is empty: the job starts over from its next seq.
    const stored = await bus.append(job, ev(4));
    expect(stored).toEqual({ ...ev(4), prev: -1 });
    await until(() => seen.length === 2);
    expect(seen.map((e) => e.seq)).toEqual([0, 4]);
    await off();
    await bus.close();
    await own.stop();
  });
});

describe('JobHub over the Redis bus', () => {
  it('fills a live gap (an event stored but never published) from Redis before going on', async () => {
    const bus = createRedisBus({ url: server.url, historyMaxEvents: 100, historyTtlMs: 60_000 });
    const raw = new Redis(server.url);
    const job = newJob();
    const hub = new JobHub(job, bus, 100);
    await hub.ready();
    const frames: string[] = [];
    hub.attach({ write: (bytes) => frames.push(new TextDecoder().decode(bytes)) > 0, end() {} }, -1);
    await bus.append(job, ev(0));
    // Seq 1 reaches Redis the way the append script stores it, but its message is lost.
    await raw.xadd(`sse-relay:{${job}}:events`, '1-1', 'p', '0', 'd', ev(1).data, 't', '0');
    await raw.hset(`sse-relay:{${job}}:meta`, 'lastSeq', '1');
    await bus.append(job, ev(2, true));
    await until(() => hub.terminalSeq !== null);
    expect(frames.join('')).toBe([0, 1, 2].map((seq) => `id: ${seq}\ndata: ${ev(seq).data}\n\n`).join(''));
    await hub.close();
    await bus.close();
    await raw.quit();
  });
});

describe('JobHub over a Redis restarted empty mid-job', () => {
  /** What a subscriber read, as `gap a-b` and `N` (an event's id), in order. */
  function transcript() {
    let text = '';
    return {
      sink: { write: (bytes: Uint8Array) => (text += new TextDecoder().decode(bytes)).length > 0, end() {} },
      read: () =>
        [...text.matchAll(/^event: gap\ndata: \{"from":(\d+),"to":(\d+)\}$|^id: (\d+)$/gm)].map((m) =>
          m[3] === undefined ? `gap ${m[1]}-${m[2]}` : m[3],
        ),
    };
  }

  it('tells since when it holds its data: from its first connection, then from the restart', async () => {
    const own = await startRedisServer();
    const bus = createRedisBus({ url: own.url, historyMaxEvents: 10, historyTtlMs: 60_000, commandTimeoutMs: 500 });
    const up = () =>
      bus.ping().then(
        () => true,
        () => false,
      );
    await until(up);
    const first = await bus.dataSince();
    expect(first).toBeLessThanOrEqual(Date.now());
    expect(await bus.dataSince()).toBe(first);
    await own.stop();
    const restarted = Date.now();
    await own.start();
    await until(up, 10_000);
    expect(await bus.dataSince()).toBeGreaterThanOrEqual(restarted);
    await bus.close();
    await own.stop();
  });

  it('announces the lost events on every hub, even when another writer re-created the job first', async () => {
    const own = await startRedisServer();
    const retention = { historyMaxEvents: 100, historyTtlMs: 60_000, commandTimeoutMs: 500 };
    const owner = createRedisBus({ url: own.url, ...retention });
    const other = createRedisBus({ url: own.url, ...retention });
    const job = newJob();
    const warm = new JobHub(job, owner, 100);
    await warm.ready();
    const watcher = transcript();
    warm.attach(watcher.sink, -1);
    for (let seq = 0; seq <= 5; seq++) await owner.append(job, { ...ev(seq), prev: seq - 1 });
    await until(() => watcher.read().length === 6);

    await own.stop();
    await own.start();
    const up = (bus: typeof owner) =>
      bus.ping().then(
        () => true,
        () => false,
      );
    await until(async () => (await up(owner)) && (await up(other)), 10_000);
    // A cold hub while Redis holds nothing: its subscriber waits live.
    const cold = new JobHub(job, other, 100);
    await cold.ready();
    const early = transcript();
    cold.attach(early.sink, -1);
    // Another writer stores first (a takeover), then the owner goes on after its seq 5.
    expect(await other.append(job, { seq: 0, data: '{"event":"status"}', terminal: false, prev: -1 })).toMatchObject({ prev: -1 });
    expect(await owner.append(job, { ...ev(6), prev: 5 })).toMatchObject({ seq: 6, prev: 5 });
    await until(() => early.read().length === 3 && watcher.read().length === 7);

    expect(watcher.read()).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(early.read()).toEqual(['0', 'gap 1-5', '6']);
    const late = transcript();
    cold.attach(late.sink, -1);
    expect(late.read()).toEqual(['0', 'gap 1-5', '6']);
    await Promise.all([warm.close(), cold.close()]);
    await Promise.all([owner.close(), other.close()]);
    await own.stop();
  });
});
