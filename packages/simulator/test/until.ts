/** Reads until `ok` holds (every 10 ms), then returns the value; past `timeoutMs` throws `describe(last value)`. */
export async function until<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  describe: (last: T) => string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(describe(value));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
