import type { FalScenario } from './directives.ts';
import type { FalRun } from './request-run.ts';
import type { FalUrls } from './status.ts';

/** A submitted request and what its answers need. */
export interface FalRecord {
  run: FalRun;
  appId: string;
  urls: FalUrls;
  scenario: FalScenario;
  /** How long the result stays after completion, ms. */
  retentionMs: number;
  /** Whether a status stream was opened (`--sim-drop-after`/`--sim-silent-after` apply to the first only). */
  streamed: boolean;
}

/** Requests kept before the oldest completed ones are forgotten, so long runs do not grow memory forever. */
const MAX_STORED_REQUESTS = 10_000;

/** Requests by id; a completed one is forgotten once its retention has passed (then every call for it is a 404). */
export interface FalStore {
  add(record: FalRecord): void;
  get(requestId: string, now: number): FalRecord | undefined;
  all(): Iterable<FalRecord>;
}

/** Creates an empty in-memory store; expiry is checked on access, so it needs no timers. */
export function createFalStore(): FalStore {
  const records = new Map<string, FalRecord>();
  const expired = (record: FalRecord, now: number) => {
    const completedAt = record.run.completedAt;
    return completedAt !== undefined && now >= completedAt + record.retentionMs;
  };
  return {
    add(record) {
      records.set(record.run.requestId, record);
      for (const [id, old] of records) {
        if (records.size <= MAX_STORED_REQUESTS) break;
        if (old.run.completedAt !== undefined) records.delete(id);
      }
    },
    get(requestId, now) {
      const record = records.get(requestId);
      if (!record || !expired(record, now)) return record;
      records.delete(requestId);
      return undefined;
    },
    all: () => records.values(),
  };
}
