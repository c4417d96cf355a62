import type { Clock, TimerHandle } from '../../src/core/clock.ts';

/** A clock only the test moves: timers fire in `advance`, in order, and never on their own. */
export interface ManualClock extends Clock {
  /** Moves time on by `ms`, running each timer due on the way at its own time, promise callbacks settling after each. */
  advance(ms: number): Promise<void>;
  /** Moves time on in steps of `stepMs` until `check` holds; throws once `maxMs` passed on this clock without it. */
  advanceUntil(check: () => boolean | Promise<boolean>, stepMs: number, maxMs?: number): Promise<void>;
  /** Lets pending promise callbacks (and what they start, but timers) run; time stands still. */
  flush(): Promise<void>;
  /** Timers waiting to fire. */
  pending(): number;
}

interface Timer {
  id: number;
  at: number;
  run: () => void;
  /** Set for an interval: it fires again this long after each run. */
  every?: number;
}

/** Turns of the event loop a flush waits: enough for chains of awaits through a memory bus and streams. */
const FLUSH_TURNS = 10;

/** A manual clock starting at `start` (default: the real time now, so creation times in job objects stay plausible). */
export function manualClock(start = Date.now()): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, Timer>();

  const add = (run: () => void, ms: number, every?: number): TimerHandle => {
    const id = nextId++;
    const delay = Math.max(0, Number.isFinite(ms) ? ms : 0);
    timers.set(id, { id, at: now + delay, run, ...(every === undefined ? {} : { every: Math.max(1, delay) }) });
    return id;
  };
  const remove = (timer: TimerHandle) => void timers.delete(timer as number);

  /** The earliest timer due by `until` (the first set among equals). */
  const due = (until: number): Timer | undefined => {
    let first: Timer | undefined;
    for (const timer of timers.values()) if (timer.at <= until && (!first || timer.at < first.at)) first = timer;
    return first;
  };

  const clock: ManualClock = {
    now: () => now,
    setTimeout: (run, ms) => add(run, ms),
    clearTimeout: remove,
    setInterval: (run, ms) => add(run, ms, ms),
    clearInterval: remove,

    async flush() {
      for (let i = 0; i < FLUSH_TURNS; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    },

    async advance(ms) {
      const target = now + ms;
      await clock.flush();
      for (let timer = due(target); timer; timer = due(target)) {
        now = Math.max(now, timer.at);
        if (timer.every === undefined) timers.delete(timer.id);
        else timer.at += timer.every;
        timer.run();
        await clock.flush();
      }
      now = target;
      await clock.flush();
    },

    async advanceUntil(check, stepMs, maxMs = 60_000) {
      const limit = now + maxMs;
      while (!(await check())) {
        if (now >= limit) throw new Error(`condition not met within ${maxMs} ms on the manual clock`);
        await clock.advance(stepMs);
      }
    },

    pending: () => timers.size,
  };
  return clock;
}
