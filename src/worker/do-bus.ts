import {
  type AppendInput,
  type Bus,
  type BusListener,
  type JobState,
  type RetentionOptions,
  type StoredEvent,
  planPublish,
  storedPrev,
} from '../core/bus/bus.ts';
import { createLeaseTable, leasePort } from '../core/bus/memory-leases.ts';

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

/** Storage work done by this bus since the object woke up (SQL statements and the rows they read and wrote, as billed). */
export interface StorageUsage {
  statements: number;
  rowsRead: number;
  rowsWritten: number;
}

/** The bus of one job's Durable Object, plus what alarms need. */
export interface DurableBus extends Bus {
  record(): JobRecord | null;
  usage(): StorageUsage;
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
  const now = options.now ?? Date.now;
  const used: StorageUsage = { statements: 0, rowsRead: 0, rowsWritten: 0 };
  /** Every statement goes through here, so its cost is counted (cursors count as they are read: read them here). */
  const sql = {
    exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: SqlStorageValue[]): T[] {
      const cursor = storage.sql.exec<T>(query, ...bindings);
      const rows = cursor.toArray();
      used.statements++;
      used.rowsRead += cursor.rowsRead;
      used.rowsWritten += cursor.rowsWritten;
      return rows;
    },
  };
  /** Events stored, counted once per wake-up and then kept, so trimming need not scan the history. */
  let eventCount: number | undefined;
  const listeners = new Map<string, Set<BusListener>>();
  const leases = createLeaseTable(now);
  let hasTables = false;

  /**
   * Tables are created by the first append, so an object asked about a job it never held
   * (a wrong id, a job that is not ours) stores nothing and costs nothing afterwards.
   */
  function tables(create: boolean): boolean {
    if (hasTables) return true;
    hasTables = sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'job'").length > 0;
    if (!hasTables && create) {
      sql.exec(SCHEMA);
      hasTables = true;
    }
    return hasTables;
  }

  function readJob(): JobRow | undefined {
    if (!tables(false)) return undefined;
    return sql.exec<JobRow>('SELECT job_id, last_seq, terminal_seq, snapshot, created_at, terminal_at FROM job WHERE id = 1')[0];
  }

  /** The stored job, unless it is another job or its history has expired. */
  function row(jobId: string | null): JobRow | null {
    const found = readJob();
    if (!found || (jobId !== null && found.job_id !== jobId)) return null;
    if (found.terminal_at !== null && found.terminal_at + options.historyTtlMs <= now()) return null;
    return found;
  }

  function countEvents(): number {
    eventCount ??= Number(sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM events')[0]?.n ?? 0);
    return eventCount;
  }

  /**
   * Stores a burst as one transaction: its events, one write of the job row and one trim
   * (each event by the rules of append). Listeners and onAppend run after it committed.
   */
  function appendBatch(jobId: string, inputs: AppendInput[]): (StoredEvent | null)[] {
    const job = row(null);
    if (job && job.job_id !== jobId) throw new Error(`this object holds job ${job.job_id}, not ${jobId}`);
    let lastSeq = job ? job.last_seq : -1;
    let terminalSeq = job ? job.terminal_seq : null;
    let snapshot: string | undefined;
    const t = now();
    const results: (StoredEvent | null)[] = [];
    const stored: StoredEvent[] = [];
    for (const input of inputs) {
      if ((job || stored.length > 0) && (input.seq <= lastSeq || terminalSeq !== null)) {
        results.push(null);
        continue;
      }
      const prev = storedPrev(lastSeq, input);
      const event: StoredEvent = { seq: input.seq, prev, data: input.data, terminal: input.terminal };
      results.push(event);
      stored.push(event);
      lastSeq = input.seq;
      if (input.terminal) terminalSeq = input.seq;
      if (input.snapshot !== undefined) snapshot = input.snapshot;
    }
    if (stored.length === 0) return results;
    tables(true);
    const record: JobRecord = {
      jobId,
      lastSeq,
      terminalSeq,
      createdAt: job ? job.created_at : t,
      terminalAt: terminalSeq !== null ? t : null,
    };
    const before = countEvents();
    const excess = before + stored.length - options.historyMaxEvents;
    storage.transactionSync(() => {
      for (const event of stored) {
        sql.exec(
          'INSERT INTO events (seq, prev, data, terminal) VALUES (?, ?, ?, ?)',
          event.seq,
          event.prev,
          event.data,
          event.terminal ? 1 : 0,
        );
      }
      sql.exec(
        `INSERT INTO job (id, job_id, last_seq, terminal_seq, snapshot, created_at, terminal_at) VALUES (1, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq, terminal_seq = excluded.terminal_seq,
           snapshot = COALESCE(excluded.snapshot, job.snapshot), terminal_at = excluded.terminal_at`,
        jobId,
        record.lastSeq,
        record.terminalSeq,
        snapshot ?? null,
        record.createdAt,
        record.terminalAt,
      );
      // The oldest rows past the cap, found through the primary key: no scan of the history.
      if (excess > 0) sql.exec('DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?)', excess);
    });
    eventCount = before + stored.length - Math.max(0, excess);
    for (const event of stored) {
      for (const listener of [...(listeners.get(jobId) ?? [])]) {
        try {
          listener(event);
        } catch {
          // A failing listener must not stop delivery to the others.
        }
      }
      const terminal = event.terminal ? { terminalSeq: event.seq, terminalAt: record.terminalAt } : { terminalSeq: null, terminalAt: null };
      options.onAppend?.(event, { ...record, lastSeq: event.seq, ...terminal });
    }
    return results;
  }

  return {
    async append(jobId: string, input: AppendInput): Promise<StoredEvent | null> {
      return appendBatch(jobId, [input])[0] ?? null;
    },

    async appendMany(jobId: string, inputs: AppendInput[]): Promise<(StoredEvent | null)[]> {
      return appendBatch(jobId, inputs);
    },

    async publish(jobId, events) {
      const job = row(jobId);
      const plan = planPublish(job?.last_seq ?? -1, job?.terminal_seq ?? null, events);
      if (plan.kind === 'over') return plan;
      const stored = appendBatch(jobId, plan.inputs).flatMap((event) => event ?? []);
      return { kind: 'stored', stored, duplicates: plan.duplicates, lastSeq: stored.at(-1)?.seq ?? job?.last_seq ?? -1 };
    },

    async history(jobId: string, afterSeq: number): Promise<StoredEvent[]> {
      if (!row(jobId)) return [];
      return sql
        .exec<EventRow>('SELECT seq, prev, data, terminal FROM events WHERE seq > ? ORDER BY seq', afterSeq)
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

    ...leasePort(leases),

    async ping(): Promise<void> {},

    async close(): Promise<void> {
      listeners.clear();
      leases.clear();
    },

    usage: () => ({ ...used }),

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
