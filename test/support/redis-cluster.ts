import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { type RedisServer, startRedisServerOn } from './redis-server.ts';
import { until } from './until.ts';

const run = promisify(execFile);

/** One node of a test cluster as CLUSTER NODES lists it. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** The master's id, for a replica. */
  masterId: string | undefined;
  failed: boolean;
}

/**
 * A throwaway Redis Cluster: three masters with a replica each, on ports ≤ 22000 (bus ports
 * +10000 stay below the ephemeral range), no persistence, a 1 s node timeout. Gone after stop().
 */
export interface RedisCluster {
  /** Seed nodes as REDIS_CLUSTER_NODES takes them. */
  seeds: string;
  ports: number[];
  /** Nodes as a live node sees them. */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** The port of the master serving a slot. */
  ownerOf(slot: number): Promise<number>;
  slotOf(key: string): Promise<number>;
  /**
   * Kills a master (SIGKILL), waits for its replica to take over, runs `afterPromotion`, then restarts
   * the old master (it rejoins as a replica); resolves with the new master's port.
   */
  killMaster(port: number, afterPromotion?: () => Promise<unknown>): Promise<number>;
  /** CLUSTER FAILOVER on the master's replica; resolves with the new master's port once it serves. */
  failover(masterPort: number): Promise<number>;
  /**
   * Moves a slot and its keys to another master (IMPORTING, MIGRATING, MIGRATE, SETSLOT NODE on the
   * new owner and the others, the old owner last). `whileOldOwnerHolds` runs once the new owner serves
   * the slot but before the old one lets go: what is published then never reaches the old one's subscribers.
   */
  migrateSlot(slot: number, toPort: number, whileOldOwnerHolds?: () => Promise<unknown>): Promise<void>;
  /** A connection of the test's own to one node. */
  node(port: number): Redis;
  stop(): Promise<void>;
}

const NODE_COUNT = 6;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port in 12000–21999 whose cluster bus port (+10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 12000 + Math.floor(Math.random() * 10000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await bindable(port)) && (await bindable(port + 10000))) return port;
  }
}

function parseNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-'] = line.split(' ');
      return {
        id,
        port: Number(address.slice(address.indexOf(':') + 1, address.indexOf('@'))),
        role: flags.includes('master') ? 'master' : 'replica',
        masterId: master === '-' ? undefined : master,
        failed: /fail/.test(flags),
      };
    });
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'sse-relay-cluster-'));
  const servers = new Map<number, RedisServer>();
  const clients = new Map<number, Redis>();
  const down = new Set<number>();
  const taken = new Set<number>();
  const start = async () => {
    for (let i = 0; servers.size < NODE_COUNT && i < 20; i++) {
      const port = await clusterPort(taken);
      const home = join(dir, String(port));
      mkdirSync(home);
      const args = ['--cluster-enabled', 'yes', '--cluster-node-timeout', '1000', '--dir', home];
      try {
        servers.set(port, await startRedisServerOn(port, args));
        taken.add(port);
      } catch {
        // Taken between the check and the start: another port.
      }
    }
  };
  await start();
  const ports = [...servers.keys()];
  const node = (port: number) => {
    let client = clients.get(port);
    if (!client) {
      client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 200, lazyConnect: false });
      client.on('error', () => undefined);
      clients.set(port, client);
    }
    return client;
  };
  const live = () => ports.filter((port) => !down.has(port));
  const nodes = async () => parseNodes((await node(live()[0] as number).call('CLUSTER', 'NODES')) as string);

  /** Every live node says the cluster is ok, agrees on who serves each master's slots, and each replica is in sync (so it can take over). */
  const settled = async () => {
    const views = await Promise.all(
      live().map(async (port) => {
        const replication = (await node(port).call('INFO', 'replication')) as string;
        if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return { ok: false, slots: '' };
        const info = (await node(port).call('CLUSTER', 'INFO')) as string;
        const slots = JSON.stringify(
          await node(port)
            .call('CLUSTER', 'SLOTS')
            .then((s) => (s as unknown[][]).map((r) => [r[0], r[1], (r[2] as unknown[])[1]]))
            .then((r) => r.sort()),
        );
        const masters = parseNodes((await node(port).call('CLUSTER', 'NODES')) as string)
          .filter((n) => n.role === 'master' && !n.failed)
          .map((n) => n.port)
          .sort();
        return { ok: info.includes('cluster_state:ok'), slots: slots + JSON.stringify(masters) };
      }),
    );
    return views.every((v) => v.ok && v.slots === views[0]?.slots);
  };
  const waitSettled = () => until(() => settled().catch(() => false), { timeoutMs: 30_000, intervalMs: 100, what: 'cluster settled' });

  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
  await waitSettled();

  const byPort = async (port: number) => {
    const all = await nodes();
    const found = all.find((n) => n.port === port);
    if (!found) throw new Error(`no cluster node on ${port}`);
    return { all, found };
  };
  const replicaOf = async (masterPort: number) => {
    const { all, found } = await byPort(masterPort);
    const replica = all.find((n) => n.masterId === found.id && !n.failed);
    if (!replica) throw new Error(`no replica of ${masterPort}`);
    return replica.port;
  };
  const ownerOf = async (slot: number) => {
    const ranges = (await node(live()[0] as number).call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`slot ${slot} unserved`);
    return range[2][1];
  };
  const isMaster = async (port: number) => ((await node(port).call('ROLE')) as string[])[0] === 'master';

  return {
    seeds: ports.map((p) => `127.0.0.1:${p}`).join(','),
    ports,
    nodes,
    node,
    async slotOf(key) {
      return Number(await node(live()[0] as number).call('CLUSTER', 'KEYSLOT', key));
    },
    ownerOf,
    async killMaster(port, afterPromotion) {
      const replica = await replicaOf(port);
      down.add(port);
      clients.get(port)?.disconnect();
      clients.delete(port);
      await servers.get(port)?.stop();
      await until(() => isMaster(replica).catch(() => false), { timeoutMs: 30_000, intervalMs: 100, what: `replica ${replica} promoted` });
      await afterPromotion?.();
      await waitSettled();
      await servers.get(port)?.start();
      down.delete(port);
      await until(async () => !(await isMaster(port).catch(() => true)), {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `${port} back as a replica`,
      });
      await waitSettled();
      return replica;
    },
    async failover(masterPort) {
      const replica = await replicaOf(masterPort);
      await node(replica).call('CLUSTER', 'FAILOVER');
      await until(() => isMaster(replica).catch(() => false), { timeoutMs: 30_000, intervalMs: 100, what: `replica ${replica} promoted` });
      await until(async () => !(await isMaster(masterPort).catch(() => true)), {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `${masterPort} a replica`,
      });
      await waitSettled();
      return replica;
    },
    async migrateSlot(slot, toPort, whileOldOwnerHolds) {
      const fromPort = await ownerOf(slot);
      const all = await nodes();
      const idOf = (port: number) => all.find((n) => n.port === port)?.id as string;
      const [from, to] = [node(fromPort), node(toPort)];
      await to.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', idOf(fromPort));
      await from.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', idOf(toPort));
      for (;;) {
        const keys = (await from.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '100')) as string[];
        if (keys.length === 0) break;
        await from.call('MIGRATE', '127.0.0.1', String(toPort), '', '0', '5000', 'KEYS', ...keys);
      }
      // The new owner first, the old one last (its SETSLOT drops the slot's shard channels' subscribers).
      const masters = all.filter((n) => n.role === 'master' && !n.failed).map((n) => n.port);
      for (const port of [toPort, ...masters.filter((p) => p !== toPort && p !== fromPort)]) {
        await node(port).call('CLUSTER', 'SETSLOT', String(slot), 'NODE', idOf(toPort));
      }
      await whileOldOwnerHolds?.();
      await from.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', idOf(toPort));
      await waitSettled();
    },
    async stop() {
      for (const client of clients.values()) client.disconnect();
      await Promise.all([...servers.values()].map((server) => server.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
