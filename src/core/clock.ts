/** The time and timers the relay's follow logic reads: the system's by default, a manual one in tests. */

/** A pending timer, as the clock that made it knows it. */
export type TimerHandle = unknown;

/** Now and timers: what proves "nothing happened" in a test is a clock the test moves itself. */
export interface Clock {
  /** Ms since the epoch. */
  now(): number;
  setTimeout(run: () => void, ms: number): TimerHandle;
  clearTimeout(timer: TimerHandle): void;
  setInterval(run: () => void, ms: number): TimerHandle;
  clearInterval(timer: TimerHandle): void;
}

type Timer = ReturnType<typeof setTimeout>;

/** The runtime's own clock (each call goes through the global, as workerd wants). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (timer) => clearTimeout(timer as Timer),
  setInterval: (run, ms) => setInterval(run, ms),
  clearInterval: (timer) => clearInterval(timer as Timer),
};

/** Resolves after `ms` on the clock, or at once when `signal` aborts. */
export function pause(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
