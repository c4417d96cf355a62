/** The bus, by port: the event log, the live feed, follow leases, health and publishing; `Bus` is all of them, as a runtime builds it. */

/** An event as stored on the bus; `prev` is the seq stored just before it (-1 for the first). */
export interface StoredEvent {
  seq: number;
  prev: number;
  data: string;
  terminal: boolean;
}

/** What a writer appends: the event, and the job object it carries (the new snapshot), if any. */
export interface AppendInput {
  seq: number;
  data: string;
  terminal: boolean;
  snapshot?: string;
  /**
   * The seq this writer stored last for the job (-1: none). An event is stored with the larger
   * of this and the bus's own last seq as its `prev`: after the bus lost events (Redis restarted
   * empty mid-job, maybe re-created by another writer since), readers announce them as a gap
   * instead of a silent hole.
   */
  prev?: number;
}

/** The `prev` an event is stored with after `last`, the bus's last stored seq (-1: none): the writer's hint when it is higher and below the seq. */
export function storedPrev(last: number, input: AppendInput): number {
  const hint = input.prev ?? -1;
  return Number.isSafeInteger(hint) && hint > last && hint < input.seq ? hint : last;
}

/** What the bus knows of a job. */
export interface JobState {
  lastSeq: number;
  terminalSeq: number | null;
  snapshot: string | null;
}

export type BusListener = (event: StoredEvent) => void;
export type Unsubscribe = () => Promise<void>;

/** The event log: a job's numbered events and its latest snapshot. Written by a follow, read by hubs and the relay. */
export interface EventLog {
  /**
   * Stores and publishes an event if its seq is above the last stored one, atomically;
   * returns the stored event, or null for a duplicate or out-of-order seq (nothing happens).
   */
  append(jobId: string, event: AppendInput): Promise<StoredEvent | null>;
  /**
   * Optional: appends several events in order as one atomic step (one round trip), each by
   * the rules of `append`; one result per input. Lets a burst reach subscribers together.
   */
  appendMany?(jobId: string, events: AppendInput[]): Promise<(StoredEvent | null)[]>;
  /** Retained events with seq > afterSeq, oldest first. */
  history(jobId: string, afterSeq: number): Promise<StoredEvent[]>;
  /** The job's state, or null when the bus holds nothing for it. */
  state(jobId: string): Promise<JobState | null>;
}

/** What a publisher appends: its own seq, or none for the bus to number the event one above the last. */
export interface PublishInput {
  seq?: number;
  data: string;
  terminal: boolean;
}

/** What one publish did, decided in the same atomic step as the append. */
export type PublishOutcome =
  /** The new events stored (each with its seq and prev), the given seqs already stored (or below the last one), the job's last seq after. */
  | { kind: 'stored'; stored: StoredEvent[]; duplicates: number[]; lastSeq: number }
  /** The job is over and the batch holds a new event: nothing was stored. */
  | { kind: 'over'; lastSeq: number; terminalSeq: number };

/**
 * Publishing: a publisher's batch appended in one atomic step, deduplicated by seq in the bus (two
 * instances publishing one job number it once). Only the publish API writes through it.
 */
export interface Publishing {
  /**
   * Appends `events` in order, all or nothing: when the job is over and any event is new (no seq,
   * or a seq above the last), nothing is stored (`over`). Else an event whose seq is at or below
   * the last stored one is a duplicate and changes nothing; one above it is stored with `prev`
   * one below its seq (after a jump the seqs skipped are a gap readers announce; not before the
   * job's first event); one without a seq is numbered last + 1. Given seqs
   * must go up and only the last event may be terminal (a TypeError otherwise, see checkPublishInputs).
   */
  publish(jobId: string, events: PublishInput[]): Promise<PublishOutcome>;
}

/** Throws a TypeError unless every given seq is a safe non-negative integer, the given seqs go up and only the last event is terminal. */
export function checkPublishInputs(events: readonly PublishInput[]): void {
  let last = -1;
  for (const [index, event] of events.entries()) {
    if (event.seq !== undefined) {
      if (!Number.isSafeInteger(event.seq) || event.seq < 0) throw new TypeError(`seq must be a non-negative integer, got ${event.seq}`);
      if (event.seq <= last) throw new TypeError(`seqs of one publish must go up (${event.seq} after ${last})`);
      last = event.seq;
    }
    if (event.terminal && index < events.length - 1) throw new TypeError('only the last event of a publish may be terminal');
  }
}

/**
 * A publish on a bus that decides it synchronously (memory, Durable Object): the events to append,
 * numbered, given the job's last seq and terminal seq now; or `over`. The caller appends them
 * before its next await.
 */
export function planPublish(
  lastSeq: number,
  terminalSeq: number | null,
  events: readonly PublishInput[],
): { kind: 'over'; lastSeq: number; terminalSeq: number } | { kind: 'plan'; inputs: AppendInput[]; duplicates: number[] } {
  checkPublishInputs(events);
  const isNew = (event: PublishInput) => event.seq === undefined || event.seq > lastSeq;
  if (terminalSeq !== null && events.some(isNew)) return { kind: 'over', lastSeq, terminalSeq };
  const inputs: AppendInput[] = [];
  const duplicates: number[] = [];
  let last = lastSeq;
  for (const event of events) {
    if (event.seq !== undefined && event.seq <= last) {
      duplicates.push(event.seq);
      continue;
    }
    const seq = event.seq ?? last + 1;
    // After a jump, the seqs skipped are a hole readers announce (a gap), except before a job's first event.
    inputs.push({ seq, data: event.data, terminal: event.terminal, ...(last >= 0 ? { prev: seq - 1 } : {}) });
    last = seq;
  }
  return { kind: 'plan', inputs, duplicates };
}

/** The live feed: events appended from now on, on any instance. A hub's one subscription per job. */
export interface LiveFeed {
  /** Delivers every event appended from now on, on any instance, in append order. */
  subscribe(jobId: string, listener: BusListener): Promise<Unsubscribe>;
}

/** Follow leases: which instance follows a job's upstream. Only a follow uses them. */
export interface Leases {
  /** Takes the job's follow lease if free (or already ours); true when we hold it. */
  acquireLease(jobId: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends our lease; false when it is no longer ours. */
  renewLease(jobId: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * Takes the lease whoever holds it. Only the instance reading the job's upstream stream
   * does this (there is one such stream per job): after an outage let the lease lapse, the
   * stream's holder keeps the job and a poller that took the lease meanwhile steps back.
   */
  claimLease(jobId: string, owner: string, ttlMs: number): Promise<void>;
  /** Gives the lease up if it is ours. */
  releaseLease(jobId: string, owner: string): Promise<void>;
}

/** The bus's health: readiness, and since when it holds what it holds. */
export interface BusHealth {
  /** Resolves when the bus is reachable. */
  ping(): Promise<void>;
  /**
   * Only on a bus that can lose its data while the writers live on (Redis restarted without
   * persistence): since when (ms since the epoch) it holds what it holds. A job created before
   * then that it holds nothing of may be one it lost: a takeover first waits for a live owner.
   */
  dataSince?(): Promise<number>;
}

/** A whole bus, as a runtime builds it: every port, and close. Callers take only the ports they use. */
export interface Bus extends EventLog, LiveFeed, Leases, BusHealth, Publishing {
  close(): Promise<void>;
}

/** Retention shared by every bus implementation. */
export interface RetentionOptions {
  /** Events kept per job; older ones are trimmed. */
  historyMaxEvents: number;
  /** How long a job's history stays after its terminal event. */
  historyTtlMs: number;
}
