import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/core/bus/bus.ts';
import { createRedisBus } from '../../src/node/redis-bus.ts';
import { createRedisQueue } from '../../src/node/redis-queue.ts';
import { keySlot } from '../../src/node/redis-slots.ts';
import { CONTRACT_RETENTION, busContracts } from '../core/bus/contracts/index.ts';
import { freePort } from '../support/free-port.ts';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { sleep, until } from '../support/until.ts';
import { CONTRACT_MAX, queueContract } from '../core/queue/queue-contract.ts';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

const target = () => ({ cluster: { nodes: cluster.seeds.split(',') } });

busContracts('redis cluster', async () => {
  const a = createRedisBus({ target: target(), ...CONTRACT_RETENTION });
  const b = createRedisBus({ target: target(), ...CONTRACT_RETENTION });
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
});

// The create queue: its keys share one hash tag, so each profile's queue lives in one slot.
let queueRun = 0;
queueContract('redis cluster', async () => {
  const keyPrefix = `queue-contract-${queueRun++}`;
  const a = createRedisQueue({ target: target(), keyPrefix, max: CONTRACT_MAX });
  const b = createRedisQueue({ target: target(), keyPrefix, max: CONTRACT_MAX });
  return { a, b, elapse: sleep, close: async () => void (await Promise.all([a.close(), b.close()])) };
});

let counter = 0;

function recordingLogger() {
  const warnings: string[] = [];
  const record = (fields: Record<string, unknown>, message: string) => void warnings.push(`${message} ${JSON.stringify(fields)}`);
  return { logger: { debug() {}, info: record, error: record, warn: record }, warnings };
}
const ev = (seq: number, terminal = false) => ({ seq, data: `{"seq":${seq}}`, terminal });

describe('Redis Cluster bus', () => {
  it('fails fast instead of hanging when no node answers', async () => {
    const nowhere = { cluster: { nodes: [`127.0.0.1:${await freePort()}`] } };
    const bus = createRedisBus({ target: nowhere, historyMaxEvents: 10, historyTtlMs: 1000, commandTimeoutMs: 300 });
    const queue = createRedisQueue({ target: nowhere, max: 1, commandTimeoutMs: 300 });
    const calls = [bus.history('j', -1), bus.append('j', ev(0)), bus.subscribe('j', () => {}), bus.ping()];
    await Promise.all([
      ...calls.map((call) => expect(call).rejects.toThrow('event bus unavailable')),
      expect(queue.join('entry', 1000)).rejects.toThrow('create queue unavailable'),
    ]);
    await Promise.all([bus.close(), queue.close()]);
  });

  it('authenticates to every node, and a wrong password costs availability, never the secret', async () => {
    await Promise.all(
      cluster.ports.map((port) => cluster.node(port).call('ACL', 'SETUSER', 'relay-test', 'on', '>pw-right-0123', '~*', '&*', '+@all')),
    );
    const as = (password: string) => ({ cluster: { nodes: cluster.seeds.split(','), username: 'relay-test', password } });
    const { logger, warnings } = recordingLogger();
    const right = createRedisBus({ target: as('pw-right-0123'), historyMaxEvents: 10, historyTtlMs: 60_000, keyPrefix: 'auth-test' });
    const wrong = createRedisBus({
      target: as('pw-wrong-4567'),
      historyMaxEvents: 10,
      historyTtlMs: 60_000,
      commandTimeoutMs: 300,
      logger,
    });
    const job = `auth-${counter++}`;
    const seen: StoredEvent[] = [];
    const off = await right.subscribe(job, (e) => seen.push(e));
    await right.append(job, ev(0, true));
    await until(() => seen.length === 1);
    await right.ping();
    const failure = await wrong.history(job, -1).then(
      () => 'answered',
      (err: unknown) => `${err} ${(err as { cause?: unknown }).cause}`,
    );
    expect(failure).toContain('event bus unavailable');
    expect(`${failure} ${warnings.join(' ')}`).not.toContain('pw-wrong-4567');
    await off();
    await Promise.all([right.close(), wrong.close()]);
  });

  it('computes slots as Redis does', async () => {
    for (const key of ['a', 'sse-relay:{midjourney-v3:abc}:events', '{}x', 'x{}{y}', 'caf\u00e9', '{user1000}.following']) {
      expect(keySlot(key)).toBe(await cluster.slotOf(key));
    }
  });

  it('publishes a job only on the shard owning its slot, over one subscriber connection per master', async () => {
    const bus = createRedisBus({ target: target(), historyMaxEvents: 100, historyTtlMs: 60_000, keyPrefix: 'shard-test' });
    // Jobs until every master owns one.
    const jobs = new Map<number, string>();
    while (jobs.size < 3) {
      const job = `j${counter++}`;
      jobs.set(await cluster.ownerOf(keySlot(`shard-test:{${job}}`)), job);
    }
    const seen = new Map<string, StoredEvent[]>();
    const offs = [];
    for (const job of jobs.values()) {
      seen.set(job, []);
      offs.push(await bus.subscribe(job, (e) => seen.get(job)?.push(e)));
    }
    for (const [port, job] of jobs) {
      const channels = (await cluster.node(port).call('PUBSUB', 'SHARDCHANNELS', 'shard-test:*')) as string[];
      expect(channels).toEqual([`shard-test:{${job}}`]);
      await bus.append(job, ev(0));
      await bus.append(job, ev(1, true));
    }
    await until(() => [...seen.values()].every((events) => events.length === 2));
    for (const events of seen.values())
      expect(events.map((e) => [e.seq, e.prev])).toEqual([
        [0, -1],
        [1, 0],
      ]);
    for (const port of jobs.keys()) {
      const clients = (await cluster.node(port).call('CLIENT', 'LIST')) as string;
      const subscribers = clients.split('\n').filter((line) => line.includes('name=ioredis-cluster(ssubscriber):shard-test:bus '));
      expect(subscribers).toHaveLength(1);
      expect(subscribers[0]).toMatch(/ ssub=1 /);
    }
    for (const off of offs) await off();
    await bus.close();
  });

  it('follows a subscribed job whose slot moves to another master with no command on its connection meanwhile, the terminal included', async () => {
    const retention = { historyMaxEvents: 100, historyTtlMs: 60_000, keyPrefix: 'move-test' };
    const [a, b] = [createRedisBus({ target: target(), ...retention }), createRedisBus({ target: target(), ...retention })];
    const job = `moving-${counter++}`;
    const channel = `move-test:{${job}}`;
    const seen: StoredEvent[] = [];
    const off = await a.subscribe(job, (e) => seen.push(e));
    await b.append(job, ev(0));
    await until(() => seen.length === 1);
    const slot = keySlot(channel);
    const from = await cluster.ownerOf(slot);
    const to = (await cluster.nodes()).find((n) => n.role === 'master' && !n.failed && n.port !== from)?.port as number;
    // Only the test's own connections move the slot, and `b`'s; `a` learns of it from Redis alone (the old owner's
    // sunsubscribe, its slot refresh). Written on the new owner while `a` still listens on the old one: pub/sub
    // loses the end of the job, the catch-up must not.
    await cluster.migrateSlot(slot, to, async () => void (await b.appendMany?.(job, [ev(1), ev(2, true)])));
    await until(() => seen.at(-1)?.seq === 2, 'the terminal on a');
    expect(seen.map((e) => [e.seq, e.prev])).toEqual([
      [0, -1],
      [1, 0],
      [2, 1],
    ]);
    expect(await cluster.node(to).call('PUBSUB', 'SHARDCHANNELS', 'move-test:*')).toEqual([channel]);
    await off();
    await Promise.all([a.close(), b.close()]);
  });

  it('follows a subscribed job through its master killed and its replica promoted, the end written right after', async () => {
    const retention = { historyMaxEvents: 100, historyTtlMs: 60_000, keyPrefix: 'kill-test' };
    const [a, b] = [createRedisBus({ target: target(), ...retention }), createRedisBus({ target: target(), ...retention })];
    const job = `killed-${counter++}`;
    const seen: StoredEvent[] = [];
    const off = await a.subscribe(job, (e) => seen.push(e));
    await b.append(job, ev(0));
    await until(() => seen.length === 1);
    const master = await cluster.ownerOf(keySlot(`kill-test:{${job}}`));
    // Written as soon as the replica serves, by an instance that connects then (so knows the new master at once),
    // while `a` is likely still finding its new subscriber connection: pub/sub loses the end, the catch-up must not.
    const write = async () => {
      const late = createRedisBus({ target: target(), ...retention });
      const written = () =>
        late.appendMany?.(job, [ev(1), ev(2, true)]).then(
          () => true,
          () => false,
        );
      await until(written, 'the end written');
      await late.close();
    };
    await cluster.killMaster(master, write);
    await until(() => seen.at(-1)?.seq === 2, 'the terminal on a');
    expect(seen.map((e) => [e.seq, e.prev])).toEqual([
      [0, -1],
      [1, 0],
      [2, 1],
    ]);
    await off();
    await Promise.all([a.close(), b.close()]);
  }, 60_000);

  it('dates its data by the shard that lost it last: each shard has its own epoch', async () => {
    const [a, b] = [1, 2].map(() =>
      createRedisBus({ target: target(), historyMaxEvents: 100, historyTtlMs: 60_000, keyPrefix: 'epoch-test' }),
    );
    if (!a?.dataSince || !b?.dataSince) throw new Error('a Redis bus tells since when it holds its data');
    const before = await a.dataSince();
    expect(await b.dataSince()).toBe(before);
    const masters = (await cluster.nodes()).filter((n) => n.role === 'master' && !n.failed).map((n) => n.port);
    const epochs = await Promise.all(masters.map((port) => cluster.node(port).keys('epoch-test:epoch:*')));
    expect(epochs.map((keys) => keys.length)).toEqual([1, 1, 1]);
    // One shard loses its data (restarted empty, say): from then on, every instance dates the bus's data from then.
    await until(() => Date.now() > before + 5);
    const lostAt = Date.now();
    await cluster.node(masters[1] as number).del(...(epochs[1] as string[]));
    const after = await b.dataSince();
    expect(after).toBeGreaterThanOrEqual(lostAt);
    expect(await a.dataSince()).toBe(after);
    await Promise.all([a.close(), b.close()]);
  });

  it('is ready only while every shard delivers its canary, not merely while commands answer', async () => {
    const bus = createRedisBus({ target: target(), historyMaxEvents: 100, historyTtlMs: 60_000, commandTimeoutMs: 1000 });
    await bus.ping();
    const master = (await cluster.nodes()).find((n) => n.role === 'master' && !n.failed)?.port as number;
    const admin = cluster.node(master);
    // This node now refuses every shard channel (and drops its subscribers); its commands still answer.
    await admin.call('ACL', 'SETUSER', 'default', 'resetchannels');
    try {
      await expect(bus.ping()).rejects.toThrow('event bus unavailable');
      expect(await admin.ping()).toBe('PONG');
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', 'allchannels');
    }
    await until(
      () =>
        bus.ping().then(
          () => true,
          () => false,
        ),
      'ready again',
    );
    await bus.close();
  });
});
