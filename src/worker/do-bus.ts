import {
  type AppendInput,
  type Bus,
  type BusListener,
  type JobState,
  type RetentionOptions,
  type StoredEvent,
  firstPrev,
} from '../core/bus.ts';
import { createLeaseTable } from '../core/memory-leases.ts';

/** What the job's Durable Object knows of its job, for alarms. */
export interface JobRecord {
  jobId: string;
  lastSeq: number;
  terminalSeq: number | null;
  createdAt: number;
  terminalAt: number | null;
}

export interface DurableBusOptions extends RetentionOptions {
  now?: () => number;
  /** Called after every stored event (the object schedules its alarms from here). */
  onAppend?(event: StoredEvent, record: JobRecord): void;
}

/** The bus of one job's Durable Object, plus what alarms need. */
export interface DurableBus extends Bus {
  record(): JobRecord | null;
}

interface JobRow extends Record<string, SqlStorageValue> {
  job_id: string;
  last_seq: number;
  terminal_seq: number | null;
  snapshot: string | null;
  created_at: number;
  terminal_at: number | null;
}

interface EventRow extends Record<string, SqlStorageValue> {
  seq: number;
  prev: number;
  data: string;
  terminal: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS job (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  job_id TEXT NOT NULL,
  last_seq INTEGER NOT NULL,
  terminal_seq INTEGER,
  snapshot TEXT,
  created_at INTEGER NOT NULL,
  terminal_at INTEGER
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  prev INTEGER NOT NULL,
  data TEXT NOT NULL,
  terminal INTEGER NOT NULL
);`;

/**
 * The bus for a job's Durable Object: history and snapshot in its SQLite storage, live
 * fan-out to listeners in this object. One object holds one job, and it runs one request
 * at a time between awaits, so append is atomic and leases are plain memory.
 */
export function createDurableBus(storage: DurableObjectStorage, options: DurableBusOptions): DurableBus {
  const sql = storage.sql;
  const now = options.now ?? Date.now;
  const listeners = new Map<string, Set<BusListener>>();
  const leases = createLeaseTable(now);
  let hasTables = false;

  /**
   * Tables are created by the first append, so an object asked about a job it never held
   * (a wrong id, a job that is not ours) stores nothing and costs nothing afterwards.
   */
  function tables(create: boolean): boolean {
    if (hasTables) return true;
    hasTables = sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'job'").toArray().length > 0;
    if (!hasTables && create) {
      sql.exec(SCHEMA);
      hasTables = true;
    }
    return hasTables;
  }

  function readJob(): JobRow | undefined {
    if (!tables(false)) return undefined;
    return sql.exec<JobRow>('SELECT job_id, last_seq, terminal_seq, snapshot, created_at, terminal_at FROM job WHERE id = 1').toArray()[0];
  }

  /** The stored job, unless it is another job or its history has expired. */
  function row(jobId: string | null): JobRow | null {
    const found = readJob();
    if (!found || (jobId !== null && found.job_id !== jobId)) return null;
    if (found.terminal_at !== null && found.terminal_at + options.historyTtlMs <= now()) return null;
    return found;
  }

  return {
    async append(jobId: string, input: AppendInput): Promise<StoredEvent | null> {
      const job = row(null);
      if (job && job.job_id !== jobId) throw new Error(`this object holds job ${job.job_id}, not ${jobId}`);
      if (job && (input.seq <= job.last_seq || job.terminal_seq !== null)) return null;
      tables(true);
      const t = now();
      const stored: StoredEvent = {
        seq: input.seq,
        prev: job ? job.last_seq : firstPrev(input),
        data: input.data,
        terminal: input.terminal,
      };
      const record: JobRecord = {
        jobId,
        lastSeq: input.seq,
        terminalSeq: input.terminal ? input.seq : null,
        createdAt: job ? job.created_at : t,
        terminalAt: input.terminal ? t : null,
      };
      storage.transactionSync(() => {
        sql.exec(
          'INSERT INTO events (seq, prev, data, terminal) VALUES (?, ?, ?, ?)',
          stored.seq,
          stored.prev,
          stored.data,
          stored.terminal ? 1 : 0,
        );
        sql.exec(
          `INSERT INTO job (id, job_id, last_seq, terminal_seq, snapshot, created_at, terminal_at) VALUES (1, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq, terminal_seq = excluded.terminal_seq,
             snapshot = COALESCE(excluded.snapshot, job.snapshot), terminal_at = excluded.terminal_at`,
          jobId,
          record.lastSeq,
          record.terminalSeq,
          input.snapshot ?? null,
          record.createdAt,
          record.terminalAt,
        );
        sql.exec('DELETE FROM events WHERE seq <= (SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?)', options.historyMaxEvents);
      });
      for (const listener of [...(listeners.get(jobId) ?? [])]) {
        try {
          listener(stored);
        } catch {
          // A failing listener must not stop delivery to the others.
        }
      }
      options.onAppend?.(stored, record);
      return stored;
    },

    async history(jobId: string, afterSeq: number): Promise<StoredEvent[]> {
      if (!row(jobId)) return [];
      return sql
        .exec<EventRow>('SELECT seq, prev, data, terminal FROM events WHERE seq > ? ORDER BY seq', afterSeq)
        .toArray()
        .map((e) => ({ seq: e.seq, prev: e.prev, data: e.data, terminal: e.terminal === 1 }));
    },

    async state(jobId: string): Promise<JobState | null> {
      const job = row(jobId);
      return job ? { lastSeq: job.last_seq, terminalSeq: job.terminal_seq, snapshot: job.snapshot } : null;
    },

    async subscribe(jobId: string, listener: BusListener) {
      let set = listeners.get(jobId);
      if (!set) listeners.set(jobId, (set = new Set()));
      set.add(listener);
      return async () => {
        set.delete(listener);
      };
    },

    acquireLease: leases.acquireLease,
    renewLease: leases.renewLease,
    claimLease: leases.claimLease,
    releaseLease: leases.releaseLease,

    async ping(): Promise<void> {},

    async close(): Promise<void> {
      listeners.clear();
      leases.clear();
    },

    record() {
      const job = readJob();
      if (!job) return null;
      return {
        jobId: job.job_id,
        lastSeq: job.last_seq,
        terminalSeq: job.terminal_seq,
        createdAt: job.created_at,
        terminalAt: job.terminal_at,
      };
    },
  };
}

/** The key of the job an object's storage holds (`<profile>:<jobid>`), without building its bus; null when none. */
export function storedJobKey(storage: DurableObjectStorage): string | null {
  const sql = storage.sql;
  if (sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'job'").toArray().length === 0) return null;
  return sql.exec<{ job_id: string }>('SELECT job_id FROM job WHERE id = 1').toArray()[0]?.job_id ?? null;
}
