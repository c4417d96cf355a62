import { RelayError } from '../core/errors.ts';
import type { QueueRunner } from '../core/queue/queue-runner.ts';
import type { CreateOutcome } from '../core/relay.ts';

/** The create queue as the app sees it. */
export interface AppQueue {
  runner: QueueRunner;
  /** Longest silence on a waiting caller's stream (a comment goes out). */
  heartbeatMs: number;
}

/** A create going through the queue. */
export interface QueuedCreate {
  /** The create's outcome once the upstream had room (or refused it for another reason than capacity). */
  outcome: Promise<CreateOutcome>;
  /** Resolves the first time the caller has to wait; never when the job starts at once. */
  waiting: Promise<void>;
  /** The caller's latest 1-based position (0 before any wait). */
  position(): number;
  /** Called with the position on every wait tick. */
  onPosition(listener: (position: number) => void): void;
}

/** `X-Queue: true` asks to wait for upstream capacity instead of getting its 429. */
export function wantsQueue(header: string | undefined): boolean {
  const value = header?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new RelayError('bad_request', 'X-Queue must be true or false');
}

/** True when an upstream reply means "no capacity now" (the vendor's 429: channel busy). */
const isBusy = (outcome: CreateOutcome) => outcome.kind === 'reply' && outcome.reply.status === 429;

/** Runs `create` through the queue; `signal` is the caller leaving. */
export function queueCreate(runner: QueueRunner, create: () => Promise<CreateOutcome>, signal: AbortSignal): QueuedCreate {
  let position = 0;
  let listener: ((position: number) => void) | undefined;
  let markWaiting!: () => void;
  const waiting = new Promise<void>((resolve) => {
    markWaiting = resolve;
  });
  const outcome = runner.run<CreateOutcome>({
    signal,
    attempt: async () => {
      const result = await create();
      return isBusy(result) ? { busy: true } : { busy: false, value: result };
    },
    onWait(at) {
      position = at;
      markWaiting();
      listener?.(at);
    },
  });
  return {
    outcome,
    waiting,
    position: () => position,
    onPosition(next) {
      listener = next;
    },
  };
}
