import type { Redis } from 'ioredis';
import { APPEND_MANY } from '../../src/node/redis-scripts.ts';

/**
 * Writes a job as gateways before profiles did (up to commit 8bbe0d2, before the profiles merge):
 * its keys tagged with the bare job id, `sse-relay:{<jobid>}:events|meta|lease`, its channel
 * `sse-relay:{<jobid>}`. The key names are spelled out here so they stay the old ones whatever
 * redis-schema.ts becomes; the append script is today's, which stores an event as the one those
 * gateways ran did (only its arguments changed since 8bbe0d2: a writer's prev per event), the lease
 * a `SET PX` as their claim did.
 */
export interface LegacyEvent {
  seq: number;
  data: string;
  terminal: boolean;
  /** The data again when the event carried a job object (it became the snapshot). */
  snapshot?: string;
}

export const legacyKeys = (jobId: string) => ({
  events: `sse-relay:{${jobId}}:events`,
  meta: `sse-relay:{${jobId}}:meta`,
  lease: `sse-relay:{${jobId}}:lease`,
  channel: `sse-relay:{${jobId}}`,
});

/** Appends `events` in one script call, as the old bus's appendMany did (defaults: its HISTORY_MAX_EVENTS and TTLs). */
export async function writeLegacyJob(
  redis: Redis,
  jobId: string,
  events: LegacyEvent[],
  options: { historyMaxEvents?: number; terminalTtlMs?: number; activeTtlMs?: number; lease?: { owner: string; ttlMs: number } } = {},
): Promise<void> {
  const keys = legacyKeys(jobId);
  const args = [
    String(options.historyMaxEvents ?? 10_000),
    String(options.terminalTtlMs ?? 86_400_000),
    String(options.activeTtlMs ?? 7 * 24 * 3600 * 1000),
    keys.channel,
  ];
  for (const event of events) {
    args.push(
      String(event.seq),
      event.data,
      event.terminal ? '1' : '0',
      event.snapshot === undefined ? '0' : '1',
      event.snapshot ?? '',
      '-1',
    );
  }
  await redis.eval(APPEND_MANY, 2, keys.events, keys.meta, ...args);
  if (options.lease) await redis.set(keys.lease, options.lease.owner, 'PX', options.lease.ttlMs);
}
