import { Redis } from 'ioredis';
import {
  type AppendInput,
  type Bus,
  type JobState,
  type PublishInput,
  type PublishOutcome,
  type RetentionOptions,
  type StoredEvent,
  checkPublishInputs,
} from '../core/bus/bus.ts';
import { RelayError, errorMessage } from '../core/errors.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import { createFanout } from './redis-fanout.ts';
import { type JobKeys, decodeEntries, jobKeys, streamStart } from './redis-schema.ts';
import { ACQUIRE_LEASE, APPEND_MANY, PUBLISH, RELEASE_LEASE, RENEW_LEASE } from './redis-scripts.ts';

export interface RedisBusOptions extends RetentionOptions {
  url: string;
  /** First part of every key and channel. */
  keyPrefix?: string;
  logger?: Logger;
  /** Longest a command (ping included) may take, queued while reconnecting or not. */
  commandTimeoutMs?: number;
}

/** The writer's last stored seq as the append script takes it (-1 when missing or not an integer). */
function writerPrev(input: AppendInput): number {
  const hint = input.prev ?? -1;
  return Number.isSafeInteger(hint) && hint >= -1 ? hint : -1;
}

/** A job that never ends still leaves Redis after this long without an append. */
const ABANDONED_JOB_TTL_MS = 7 * 24 * 3600 * 1000;

interface ScriptCommands {
  relayAppendMany(...keysAndArgs: string[]): Promise<number[]>;
  relayPublish(...keysAndArgs: string[]): Promise<number[]>;
  relayAcquire(key: string, owner: string, ttlMs: string): Promise<number>;
  relayRenew(key: string, owner: string, ttlMs: string): Promise<number>;
  relayRelease(key: string, owner: string): Promise<number>;
}

/** Watches a connection: logs when it goes down and comes back, once each. */
function watch(redis: Redis, role: string, logger: Logger): void {
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.warn({ role, err: err.message }, 'redis connection lost; retrying');
  });
  redis.on('ready', () => {
    if (down) logger.info({ role }, 'redis connection back');
    down = false;
  });
}

/**
 * The cluster bus: history, snapshot and leases in Redis, live events over Redis pub/sub
 * on one subscriber connection per instance. Keys and sizing: docs/operations/redis.md, "What goes into Redis".
 */
export function createRedisBus(options: RedisBusOptions): Bus & { channelCount(): number; dataSince(): Promise<number> } {
  const prefix = options.keyPrefix ?? 'sse-relay';
  const logger = options.logger ?? silentLogger;
  const activeTtlMs = String(Math.max(options.historyTtlMs, ABANDONED_JOB_TTL_MS));
  // Commands queue while (re)connecting but fail after commandTimeout: nothing hangs while Redis is down.
  const client = new Redis(options.url, {
    connectionName: `${prefix}:bus`,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
  });
  const subscriber = client.duplicate({ connectionName: `${prefix}:sub` });
  watch(client, 'commands', logger);
  watch(subscriber, 'subscriber', logger);
  client.defineCommand('relayAppendMany', { numberOfKeys: 2, lua: APPEND_MANY });
  client.defineCommand('relayPublish', { numberOfKeys: 2, lua: PUBLISH });
  client.defineCommand('relayAcquire', { numberOfKeys: 1, lua: ACQUIRE_LEASE });
  client.defineCommand('relayRenew', { numberOfKeys: 1, lua: RENEW_LEASE });
  client.defineCommand('relayRelease', { numberOfKeys: 1, lua: RELEASE_LEASE });
  const scripts = client as unknown as ScriptCommands;
  const keys = (jobId: string): JobKeys => jobKeys(prefix, jobId);
  // When this Redis's data began: set by the first instance to connect after a start (or a restart empty).
  const epochKey = `${prefix}:epoch`;
  const markEpoch = () => client.set(epochKey, String(Date.now()), 'NX');
  client.on('ready', () => void markEpoch().catch(() => undefined));

  /** Redis failures become one typed error (503 at the HTTP edge); unexpected ones are logged. */
  async function guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof RelayError || err instanceof TypeError) throw err;
      const connected = client.status === 'ready' && subscriber.status === 'ready';
      if (connected) logger.warn({ operation, err: errorMessage(err) }, 'redis command failed');
      throw new RelayError('unavailable', 'event bus unavailable', { retryAfterS: 1, cause: err });
    }
  }

  async function readHistory(jobId: string, afterSeq: number): Promise<StoredEvent[]> {
    const entries = (await client.xrange(keys(jobId).events, streamStart(afterSeq), '+')) as [string, string[]][];
    return decodeEntries(entries).filter((event) => event.seq > afterSeq);
  }

  /** One atomic script call for a batch of events (a single append is a batch of one). */
  async function appendMany(jobId: string, inputs: AppendInput[]): Promise<(StoredEvent | null)[]> {
    for (const input of inputs) {
      if (!Number.isSafeInteger(input.seq) || input.seq < 0) throw new TypeError(`seq must be a non-negative integer, got ${input.seq}`);
    }
    if (inputs.length === 0) return [];
    const k = keys(jobId);
    const args = [String(options.historyMaxEvents), String(options.historyTtlMs), activeTtlMs, k.channel];
    for (const input of inputs) {
      args.push(
        String(input.seq),
        input.data,
        input.terminal ? '1' : '0',
        input.snapshot === undefined ? '0' : '1',
        input.snapshot ?? '',
        String(writerPrev(input)),
      );
    }
    const prevs = await guard('append', () => scripts.relayAppendMany(k.events, k.meta, ...args));
    return inputs.map((input, i) => {
      const prev = Number(prevs[i]);
      return prev === -2 ? null : { seq: input.seq, prev, data: input.data, terminal: input.terminal };
    });
  }

  /** One atomic script call: the publish API's batch, numbered and deduplicated in Redis. */
  async function publish(jobId: string, inputs: PublishInput[]): Promise<PublishOutcome> {
    checkPublishInputs(inputs);
    const k = keys(jobId);
    const args = [String(options.historyMaxEvents), String(options.historyTtlMs), activeTtlMs, k.channel];
    for (const input of inputs) args.push(input.seq === undefined ? '' : String(input.seq), input.data, input.terminal ? '1' : '0');
    const reply = (await guard('publish', () => scripts.relayPublish(k.events, k.meta, ...args))).map(Number);
    const [status, lastSeq = -1, terminalSeq = -1] = reply;
    if (status === 0) return { kind: 'over', lastSeq, terminalSeq };
    const stored: StoredEvent[] = [];
    const duplicates: number[] = [];
    inputs.forEach((input, i) => {
      const seq = reply[2 + 2 * i] as number;
      const prev = reply[3 + 2 * i] as number;
      if (prev === -2) duplicates.push(seq);
      else stored.push({ seq, prev, data: input.data, terminal: input.terminal });
    });
    return { kind: 'stored', stored, duplicates, lastSeq };
  }

  const fanout = createFanout({
    subscriber,
    logger,
    channelOf: (jobId) => keys(jobId).channel,
    lastSeq: async (jobId) => Number((await client.hget(keys(jobId).meta, 'lastSeq')) ?? -1),
    history: readHistory,
  });

  return {
    async append(jobId: string, input: AppendInput): Promise<StoredEvent | null> {
      const [stored] = await appendMany(jobId, [input]);
      return stored ?? null;
    },

    appendMany,

    publish,

    history: (jobId, afterSeq) => guard('history', () => readHistory(jobId, afterSeq)),

    async state(jobId: string): Promise<JobState | null> {
      const meta = keys(jobId).meta;
      const [lastSeq, terminalSeq, snapshot] = await guard('state', () => client.hmget(meta, 'lastSeq', 'terminalSeq', 'snapshot'));
      if (lastSeq == null && snapshot == null) return null;
      return {
        lastSeq: lastSeq == null ? -1 : Number(lastSeq),
        terminalSeq: terminalSeq == null ? null : Number(terminalSeq),
        snapshot: snapshot ?? null,
      };
    },

    subscribe: (jobId, listener) => guard('subscribe', () => fanout.subscribe(jobId, listener)),

    async acquireLease(jobId: string, owner: string, ttlMs: number): Promise<boolean> {
      const lease = keys(jobId).lease;
      return (await guard('acquireLease', () => scripts.relayAcquire(lease, owner, String(Math.ceil(ttlMs))))) === 1;
    },

    async renewLease(jobId: string, owner: string, ttlMs: number): Promise<boolean> {
      const lease = keys(jobId).lease;
      return (await guard('renewLease', () => scripts.relayRenew(lease, owner, String(Math.ceil(ttlMs))))) === 1;
    },

    async claimLease(jobId: string, owner: string, ttlMs: number): Promise<void> {
      const lease = keys(jobId).lease;
      await guard('claimLease', () => client.set(lease, owner, 'PX', Math.ceil(ttlMs)));
    },

    async releaseLease(jobId: string, owner: string): Promise<void> {
      const lease = keys(jobId).lease;
      await guard('releaseLease', () => scripts.relayRelease(lease, owner));
    },

    async ping(): Promise<void> {
      // Both connections: without the subscriber, this instance would serve no live events.
      await guard('ping', () => Promise.all([client.ping(), subscriber.ping()]));
    },

    async close(): Promise<void> {
      await Promise.allSettled([client.quit(), subscriber.quit()]);
      client.disconnect();
      subscriber.disconnect();
    },

    dataSince: () =>
      guard('dataSince', async () => {
        let since = await client.get(epochKey);
        // Not set yet (read before the 'ready' handler's write) or evicted: from now, which only makes takeovers wait.
        if (since === null) {
          await markEpoch();
          since = await client.get(epochKey);
        }
        return Number(since ?? Date.now());
      }),

    channelCount: () => fanout.size(),
  };
}
