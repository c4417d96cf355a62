/**
 * Moves jobs stored before profiles existed (keys tagged `{<jobid>}`) to the names the bus reads
 * now (`{<profile>:<jobid>}`, under the first profile: the only one there was). One Lua script per job
 * moves its history, meta and lease together with their TTLs, and never over newer data, so a
 * run is safe beside running gateways and a second run changes nothing. See docs/operations/upgrading.md.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { PROFILES } from '../profiles/index.ts';
import { type JobKeys, jobKeys } from './redis-schema.ts';
import { errorMessage } from '../core/errors.ts';

/** Where old-layout jobs are and where they go. */
export interface LegacyLayout {
  /** The bus's key prefix. */
  prefix: string;
  /** The profile every pre-profile job belongs to. */
  profile: string;
  /** Every profile name: a tag starting `<name>:` is already a new-layout key. */
  profiles: readonly string[];
}

/** The gateway's own layout: the bus's default prefix, the default (first) profile. */
export const GATEWAY_LEGACY_LAYOUT: LegacyLayout = {
  prefix: 'sse-relay',
  profile: PROFILES[0]?.profile.name ?? '',
  profiles: PROFILES.map((entry) => entry.profile.name),
};

/** What one run did, by job. */
export interface MigrationReport {
  /** Old-layout jobs found. */
  found: number;
  /** Moved whole to the new names. */
  moved: number;
  /** Left where they are: the new names already hold data of the job (newer, never overwritten). */
  kept: number;
  /** Gone between the scan and the move (expired, or moved by a run beside this one). */
  gone: number;
}

/**
 * KEYS: old events, meta, lease; new events, meta, lease. -1 when no old key is left (gone), 0 when
 * the new history or meta exists (kept), else 1: moved (RENAME keeps each key's TTL; a lease
 * already taken under the new name is left to expire, and a job that was only that lease is kept).
 */
const MOVE_JOB = `
if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[4], KEYS[5]) > 0 then return 0 end
local moved = 0
for i = 1, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('EXISTS', KEYS[i + 3]) == 0 then
    redis.call('RENAME', KEYS[i], KEYS[i + 3])
    moved = 1
  end
end
return moved
`;

const KINDS = /^(events|meta|lease)$/;

/** `*`, `?`, `[`, `]` and `\\` escaped for SCAN's MATCH. */
const glob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/** The job id of an old-layout key `<prefix>:{<jobid>}:<events|meta|lease>`; undefined for any other key (a profile's job, the queue). */
function legacyTag(key: string, head: string, profiles: readonly string[]): string | undefined {
  const close = key.lastIndexOf('}:');
  if (!key.startsWith(head) || close <= head.length || !KINDS.test(key.slice(close + 2))) return undefined;
  const tag = key.slice(head.length, close);
  if (/[{}\s]/.test(tag) || profiles.some((name) => tag.startsWith(`${name}:`))) return undefined;
  return tag;
}

/** The job ids of every old-layout job (SCAN, so Redis is never blocked), in no particular order. */
export async function findLegacyJobs(redis: Redis, layout: LegacyLayout): Promise<string[]> {
  const head = `${layout.prefix}:{`;
  const ids = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${glob(head)}*}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const tag = legacyTag(key, head, layout.profiles);
      if (tag !== undefined) ids.add(tag);
    }
  } while (cursor !== '0');
  return [...ids];
}

const keyList = (keys: JobKeys) => [keys.events, keys.meta, keys.lease];

/** Moves every old-layout job to its new names; logs what it did (a summary, and each job kept). */
export async function migrateLegacyJobs(redis: Redis, layout: LegacyLayout, logger: Logger): Promise<MigrationReport> {
  if (!layout.profiles.includes(layout.profile)) throw new TypeError(`unknown profile ${JSON.stringify(layout.profile)}`);
  const ids = await findLegacyJobs(redis, layout);
  const report: MigrationReport = { found: ids.length, moved: 0, kept: 0, gone: 0 };
  for (const id of ids) {
    const keys = [...keyList(jobKeys(layout.prefix, id)), ...keyList(jobKeys(layout.prefix, `${layout.profile}:${id}`))];
    const outcome = Number(await redis.eval(MOVE_JOB, keys.length, ...keys));
    if (outcome === 1) report.moved++;
    else if (outcome === 0) {
      report.kept++;
      logger.warn(
        { jobId: id, profile: layout.profile },
        'old-layout job kept where it is: its new keys already hold data (left to expire)',
      );
    } else report.gone++;
  }
  logger.info({ ...report, profile: layout.profile }, report.found === 0 ? 'redis migration: no old-layout jobs' : 'redis migration done');
  return report;
}

/**
 * At start: logs a warning when Redis still holds old-layout jobs (the gateway does not read them),
 * naming the command that moves them. Never throws; a failure only costs the check.
 */
export async function warnOfLegacyJobs(redis: Redis, layout: LegacyLayout, logger: Logger): Promise<void> {
  try {
    const ids = await findLegacyJobs(redis, layout);
    if (ids.length === 0) return;
    logger.warn(
      { jobs: ids.length, examples: ids.slice(0, 3), profile: layout.profile },
      'Redis holds jobs in the pre-profile key layout, which this version does not read: run `node dist/migrate.js` (npm run migrate:redis) to move them (docs/operations/upgrading.md)',
    );
  } catch (err) {
    logger.debug({ err: errorMessage(err) }, 'could not check Redis for old-layout jobs');
  }
}

/** Runs `work` on a connection of its own (named `<prefix>:migrate`), closed after; no reconnects, so an outage fails fast. */
export async function withRedis<T>(url: string, layout: LegacyLayout, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, {
    connectionName: `${layout.prefix}:migrate`,
    connectTimeout: 2000,
    commandTimeout: 10_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  // Failures surface as the commands' errors; an 'error' event must not crash the process.
  redis.on('error', () => undefined);
  try {
    return await work(redis);
  } finally {
    await redis.quit().catch(() => undefined);
    redis.disconnect();
  }
}
