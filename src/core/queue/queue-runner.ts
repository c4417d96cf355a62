import { RelayError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { CreateQueue } from './create-queue.ts';

export interface QueueRunnerOptions {
  queue: CreateQueue;
  /** An entry not refreshed for this long is dropped (its instance died): the lease time. */
  entryTtlMs: number;
  /** How often a waiting caller refreshes its entry, and the head retries the upstream. */
  pollMs: number;
  /** Longest a caller waits before it gets `queue_timeout`. */
  maxWaitMs: number;
  logger: Logger;
  now?: () => number;
}

/** One caller's turn: how to try the upstream, and what to tell the caller while it waits. */
export interface QueueTurn<T> {
  /** One try; `busy` means the upstream had no capacity, so the caller keeps its place. */
  attempt(): Promise<{ busy: true } | { busy: false; value: T }>;
  /** The caller's 1-based position, each time it has to wait (every poll). */
  onWait(position: number): void;
  /** The caller left: its entry goes, and no job is started for it. */
  signal: AbortSignal;
}

/** Runs callers through the create queue: only the head tries the upstream, so jobs start in arrival order. */
export interface QueueRunner {
  run<T>(turn: QueueTurn<T>): Promise<T>;
  /** Callers of this instance in the queue now (their turn taken or not yet). */
  waiting(): number;
}

/** Retry-After of a full queue or a timed-out wait, seconds. */
const RETRY_AFTER_S = 5;

export function createQueueRunner(options: QueueRunnerOptions): QueueRunner {
  const { queue, logger } = options;
  const now = options.now ?? Date.now;
  // Callers waiting on this instance: woken when one of them leaves, so the next head need not wait a poll.
  const sleepers = new Set<() => void>();
  // An outage is logged once, not once per waiting caller per poll.
  let unreachable = false;
  let inQueue = 0;

  function wakeAll(): void {
    for (const wake of [...sleepers]) wake();
  }

  function pause(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  async function join(id: string): Promise<number> {
    const position = await queue.join(id, options.entryTtlMs);
    if (position === null) {
      throw new RelayError('queue_full', 'the upstream is at capacity and the create queue is full', { retryAfterS: RETRY_AFTER_S });
    }
    return position;
  }

  /** The entry's position now; null when the store cannot tell (it is down), so this caller does not try. */
  async function refresh(id: string): Promise<number | null> {
    try {
      const position = await queue.refresh(id, options.entryTtlMs);
      if (unreachable) logger.info({}, 'create queue reachable again');
      unreachable = false;
      if (position !== null) return position;
      // The store lost the entry (it expired during an outage, or Redis restarted empty): back in at the tail.
      logger.warn({}, 'create queue entry was lost; joining again at the tail');
      return await join(id);
    } catch (err) {
      if (err instanceof RelayError && err.code === 'queue_full') throw err;
      if (!unreachable) logger.warn({ err: errorMessage(err) }, 'create queue unreachable; callers keep waiting');
      unreachable = true;
      return null;
    }
  }

  return {
    async run(turn) {
      const id = crypto.randomUUID();
      let position: number | null = await join(id);
      const deadline = now() + options.maxWaitMs;
      inQueue++;
      try {
        for (;;) {
          if (turn.signal.aborted) throw new RelayError('unavailable', 'the caller left the create queue');
          if (position === 0) {
            const result = await turn.attempt();
            if (!result.busy) return result.value;
          }
          if (now() >= deadline) {
            throw new RelayError('queue_timeout', `no upstream capacity within ${options.maxWaitMs} ms`, { retryAfterS: RETRY_AFTER_S });
          }
          if (position !== null) turn.onWait(position + 1);
          await pause(options.pollMs, turn.signal);
          if (turn.signal.aborted) continue;
          position = await refresh(id);
        }
      } finally {
        inQueue--;
        await queue.leave(id).catch((err: unknown) => {
          logger.warn({ err: errorMessage(err) }, 'could not leave the create queue; the entry expires');
        });
        wakeAll();
      }
    },

    waiting: () => inQueue,
  };
}
