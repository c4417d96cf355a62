import { afterAll, beforeAll } from 'vitest';
import { createRedisQueue } from '../../src/node/redis-queue.ts';
import { CONTRACT_MAX, queueContract } from '../core/queue/queue-contract.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { sleep } from '../support/until.ts';

let redis: RedisServer;
let run = 0;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

// Two connections (two instances) on one Redis; each test gets its own key prefix. Entries expire
// on Redis's own clock (TIME in the scripts), which no test can move: time passes for real here.
queueContract('redis', async () => {
  const keyPrefix = `contract-${run++}`;
  const a = createRedisQueue({ url: redis.url, keyPrefix, max: CONTRACT_MAX });
  const b = createRedisQueue({ url: redis.url, keyPrefix, max: CONTRACT_MAX });
  return { a, b, elapse: sleep, close: async () => void (await Promise.all([a.close(), b.close()])) };
});
