import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { PUBLISHERS, newPublishedJob, publishJson, publishNdjson, publishedStreamUrl } from '../support/publisher.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { readSse } from '../support/sse.ts';

// Two instances on one Redis: publishing to one, watching on the other, nothing is lost or doubled.
let redis: RedisServer;
let a: TestGateway;
let b: TestGateway;
beforeAll(async () => {
  redis = await startRedisServer();
  [a, b] = await Promise.all([
    startTestGateway({ REDIS_URL: redis.url, PUBLISHERS, INSTANCE_ID: 'a' }),
    startTestGateway({ REDIS_URL: redis.url, PUBLISHERS, INSTANCE_ID: 'b' }),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});

describe('published jobs on Redis, two instances', () => {
  it('a subscriber on B sees every event published to A, live and in order, once', async () => {
    const job = newPublishedJob('redis');
    await publishJson(a.url, job, { data: { step: 0 } });
    const watching = readSse(publishedStreamUrl(b.url, 'render', job));
    const lines = Array.from({ length: 30 }, (_, i) => ({ data: { step: i + 1 }, ...(i === 29 ? { terminal: true } : {}) }));
    const published = await publishNdjson(a.url, job, lines, { intervalMs: 5 });
    expect(published.body).toMatchObject({ last_seq: 30, ended: true });
    const seen = await watching;
    expect(seen.events.map((event) => Number(event.id))).toEqual([...Array(31).keys()]);
    expect(seen.events.map((event) => (JSON.parse(event.data) as { step: number }).step)).toEqual([...Array(31).keys()]);
  });

  it('numbers events published to both at once without a seq once each, and stores a retry on the other instance once', async () => {
    const job = newPublishedJob('redis-both');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => publishJson(i % 2 === 0 ? a.url : b.url, job, { data: i })));
    const stored = answers.flatMap((answer) => answer.body.stored as number[]);
    expect([...stored].sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
    const retried = [
      { data: 'x', seq: 40 },
      { data: 'end', seq: 41, terminal: true },
    ];
    expect((await publishJson(a.url, job, retried)).body).toMatchObject({ stored: [40, 41] });
    expect((await publishJson(b.url, job, retried)).body).toMatchObject({ stored: [], duplicates: [40, 41] });
    const seen = await readSse(publishedStreamUrl(a.url, 'render', job));
    expect(seen.events.filter((event) => event.event === undefined).map((event) => Number(event.id))).toEqual([
      ...Array(20).keys(),
      40,
      41,
    ]);
    expect(seen.events.find((event) => event.event === 'gap')?.data).toBe('{"from":20,"to":39}');
    expect((await publishJson(b.url, job, { data: 'late' })).status).toBe(409);
  });
});
