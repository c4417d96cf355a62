import type { AppendInput, EventLog, StoredEvent } from '../bus/bus.ts';
import { type Clock, pause } from '../clock.ts';
import { RelayError } from '../errors.ts';
import type { JobEvent } from '../ingest/event.ts';
import type { Follow } from './follow.ts';
import type { Logger } from '../logger.ts';
import type { ReceiptBook } from '../fanout/receipts.ts';
import type { FollowStats } from '../stats.ts';

/** What one append did: how many events the bus refused (a newer or equal seq was stored, or the job is over). */
export interface AppendOutcome {
  refused: number;
}

export interface AppendDeps {
  bus: Pick<EventLog, 'append' | 'appendMany'>;
  logger: Logger;
  /** Times the retries. */
  clock: Clock;
  /** True once the followers are closing: retries stop. */
  closed(): boolean;
  /** Where the follow counts what it reads upstream (the relay's stats). */
  stats: FollowStats;
  /** Receipts of events received here, marked before they are appended (for the delivery lag). */
  receipts?: ReceiptBook;
}

/** Counts an event read upstream and stamps when (`performance.now()`), for the delivery lag once its hub writes it. */
export function received(stats: FollowStats, event: JobEvent): JobEvent {
  stats.eventsReceived++;
  event.receivedAt = performance.now();
  return event;
}

const MAX_ATTEMPTS = 20;

/**
 * True for an error that no retry can cure: the bus refused the input itself (a TypeError or
 * RangeError, say a seq it cannot store) or answered with a definite RelayError. Only an
 * unreachable bus (`unavailable`) or an unknown failure is worth another try.
 */
export function isPermanent(err: unknown): boolean {
  if (err instanceof TypeError || err instanceof RangeError) return true;
  return err instanceof RelayError && err.code !== 'unavailable';
}

/** An event as the bus stores it after `prev` (the seq this writer stored last); one carrying a job object is the new snapshot. */
export function toAppendInput(event: JobEvent, prev: number): AppendInput {
  return {
    seq: event.seq,
    data: event.data,
    terminal: event.terminal,
    prev,
    ...(event.job ? { snapshot: event.snapshot ?? event.data } : {}),
  };
}

/** Appends events in order, as one batch when the bus can; only stored events change the follow. */
async function appendOnce(bus: AppendDeps['bus'], follow: Follow, events: JobEvent[], receipts?: ReceiptBook): Promise<AppendOutcome> {
  // Before the append: the memory bus delivers to the job's hub within it.
  const book = receipts?.find(follow.jobId);
  if (book) for (const event of events) if (event.receivedAt !== undefined) book.mark(event.seq, event.receivedAt);
  const inputs = events.map((event) => toAppendInput(event, follow.lastSeq));
  let stored: (StoredEvent | null)[];
  if (inputs.length > 1 && bus.appendMany) stored = await bus.appendMany(follow.jobId, inputs);
  else {
    stored = [];
    for (const input of inputs) stored.push(await bus.append(follow.jobId, input));
  }
  let refused = 0;
  events.forEach((event, i) => {
    if (stored[i]) follow.stored(event);
    else refused++;
  });
  return { refused };
}

/**
 * Appends with retries (appends are idempotent by seq): an event the bus could not take now is
 * not given up on quickly, and one it can never take is not retried at all.
 */
export async function appendReliably(
  deps: AppendDeps,
  follow: Follow,
  events: JobEvent | JobEvent[],
  maxAttempts = MAX_ATTEMPTS,
): Promise<AppendOutcome> {
  const batch = Array.isArray(events) ? events : [events];
  if (batch.length === 0) return { refused: 0 };
  for (let attempt = 1; ; attempt++) {
    try {
      return await appendOnce(deps.bus, follow, batch, deps.receipts);
    } catch (err) {
      if (isPermanent(err) || deps.closed() || attempt >= maxAttempts) throw err;
      deps.logger.warn({ jobId: follow.jobId, seq: batch[0]?.seq, err: String(err) }, 'bus append failed, retrying');
      await pause(deps.clock, Math.min(2000, 50 * 2 ** attempt));
    }
  }
}
