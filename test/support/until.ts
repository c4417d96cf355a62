/** How long and how often `until` reads, and what its error calls the wait. */
export interface UntilOptions {
  /** Give up after this long (default 20 s). */
  timeoutMs?: number;
  /** Pause between two reads (default 20 ms). */
  intervalMs?: number;
  /** What is awaited, named in the error when it does not come. */
  what?: string;
}

/** Resolves after `ms`: a pause between reads or a pace an actor keeps, never a wait for something to happen (use `until`). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A value `until` accepts without an `ok` test. */
type Truthy<T> = Exclude<T, null | undefined | false | 0 | ''>;

/** Reads until the value is truthy, then returns it; throws after the timeout (a number: `timeoutMs`, a string: `what`). */
export function until<T>(read: () => T | Promise<T>, options?: UntilOptions | number | string): Promise<Truthy<T>>;
/** Reads until `ok` holds, then returns the value; throws with the last value after the timeout (a number: `timeoutMs`). */
export function until<T>(read: () => T | Promise<T>, ok: (value: T) => boolean, options?: UntilOptions | number): Promise<T>;
export async function until<T>(
  read: () => T | Promise<T>,
  okOrOptions?: ((value: T) => boolean) | UntilOptions | number | string,
  maybeOptions?: UntilOptions | number,
): Promise<T> {
  const ok = typeof okOrOptions === 'function' ? okOrOptions : Boolean;
  const given = typeof okOrOptions === 'function' ? maybeOptions : okOrOptions;
  const options = typeof given === 'number' ? { timeoutMs: given } : typeof given === 'string' ? { what: given } : (given ?? {});
  const { timeoutMs = 20_000, intervalMs = 20, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met in ${timeoutMs} ms: ${shown(value)}`);
    await sleep(intervalMs);
  }
}

const shown = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};
