import { createLeaseTable, leasePort } from './memory-leases.ts';
import {
  type AppendInput,
  type Bus,
  type BusListener,
  type JobState,
  type RetentionOptions,
  type StoredEvent,
  planPublish,
  storedPrev,
} from './bus.ts';

interface MemoryJob {
  events: StoredEvent[];
  lastSeq: number;
  terminalSeq: number | null;
  snapshot: string | null;
  expiresAt: number;
  listeners: Set<BusListener>;
}

export interface MemoryBusOptions extends RetentionOptions {
  now?: () => number;
}

/** The embedded bus for a single process: everything lives in this process's memory. */
export function createMemoryBus(options: MemoryBusOptions): Bus {
  const now = options.now ?? Date.now;
  const jobs = new Map<string, MemoryJob>();
  const leases = createLeaseTable(now);
  let appendsSinceSweep = 0;

  function sweep(): void {
    const t = now();
    for (const [id, job] of jobs) if (job.expiresAt <= t && job.listeners.size === 0) jobs.delete(id);
    leases.sweep();
  }

  function live(jobId: string): MemoryJob | undefined {
    const job = jobs.get(jobId);
    if (job && job.expiresAt <= now() && job.listeners.size === 0) {
      jobs.delete(jobId);
      return undefined;
    }
    return job;
  }

  function entry(jobId: string): MemoryJob {
    let job = live(jobId);
    if (!job) {
      job = { events: [], lastSeq: -1, terminalSeq: null, snapshot: null, expiresAt: Infinity, listeners: new Set() };
      jobs.set(jobId, job);
    }
    return job;
  }

  /** Stores one event, synchronously (so a publish's batch is one step). */
  function store(jobId: string, input: AppendInput): StoredEvent | null {
    if (++appendsSinceSweep >= 1000) {
      appendsSinceSweep = 0;
      sweep();
    }
    const job = entry(jobId);
    if (input.seq <= job.lastSeq || job.terminalSeq !== null) return null;
    const prev = storedPrev(job.lastSeq, input);
    const stored: StoredEvent = { seq: input.seq, prev, data: input.data, terminal: input.terminal };
    job.events.push(stored);
    if (job.events.length > options.historyMaxEvents) job.events.splice(0, job.events.length - options.historyMaxEvents);
    job.lastSeq = input.seq;
    if (input.snapshot !== undefined) job.snapshot = input.snapshot;
    if (input.terminal) {
      job.terminalSeq = input.seq;
      job.expiresAt = now() + options.historyTtlMs;
    }
    for (const listener of [...job.listeners]) {
      try {
        listener(stored);
      } catch {
        // A failing listener must not stop delivery to the others.
      }
    }
    return stored;
  }

  const append = async (jobId: string, input: AppendInput) => store(jobId, input);

  return {
    append,

    async appendMany(jobId: string, inputs: AppendInput[]): Promise<(StoredEvent | null)[]> {
      const results: (StoredEvent | null)[] = [];
      for (const input of inputs) results.push(await append(jobId, input));
      return results;
    },

    async publish(jobId, events) {
      const job = live(jobId);
      const plan = planPublish(job?.lastSeq ?? -1, job?.terminalSeq ?? null, events);
      if (plan.kind === 'over') return plan;
      const stored = plan.inputs.flatMap((input) => store(jobId, input) ?? []);
      return { kind: 'stored', stored, duplicates: plan.duplicates, lastSeq: live(jobId)?.lastSeq ?? -1 };
    },

    async history(jobId: string, afterSeq: number): Promise<StoredEvent[]> {
      const job = live(jobId);
      if (!job) return [];
      return job.events.filter((event) => event.seq > afterSeq);
    },

    async state(jobId: string): Promise<JobState | null> {
      const job = live(jobId);
      if (!job || (job.lastSeq < 0 && job.snapshot === null)) return null;
      return { lastSeq: job.lastSeq, terminalSeq: job.terminalSeq, snapshot: job.snapshot };
    },

    async subscribe(jobId: string, listener: BusListener) {
      const job = entry(jobId);
      job.listeners.add(listener);
      return async () => {
        job.listeners.delete(listener);
        // A subscription to a job that never got an event leaves nothing behind.
        if (job.listeners.size === 0 && job.lastSeq < 0 && job.snapshot === null && jobs.get(jobId) === job) jobs.delete(jobId);
      };
    },

    ...leasePort(leases),

    async ping(): Promise<void> {},

    async close(): Promise<void> {
      jobs.clear();
      leases.clear();
    },
  };
}
