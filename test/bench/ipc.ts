import type { ChildProcess } from 'node:child_process';

/** A request/response pair over a child's IPC channel: `{id, ...}` out, `{id, ...}` back. */
export interface IpcPeer {
  call<T = Record<string, unknown>>(message: Record<string, unknown>, timeoutMs?: number): Promise<T>;
}

export function ipcPeer(child: ChildProcess, name: string): IpcPeer {
  let next = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  child.on('message', (message: { id?: number; error?: string }) => {
    const entry = message.id === undefined ? undefined : waiting.get(message.id);
    if (!entry || message.id === undefined) return;
    waiting.delete(message.id);
    clearTimeout(entry.timer);
    if (message.error) entry.reject(new Error(`${name}: ${message.error}`));
    else entry.resolve(message);
  });
  child.on('exit', (code, signal) => {
    for (const entry of waiting.values()) {
      clearTimeout(entry.timer);
      entry.reject(new Error(`${name} exited (${code ?? signal})`));
    }
    waiting.clear();
  });
  return {
    call<T>(message: Record<string, unknown>, timeoutMs = 120_000) {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${name}: no answer to ${String(message.cmd)} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        child.send({ ...message, id });
      });
    },
  };
}

/** Child side: answers each request with what `handle` returns (or its error). */
export function serveIpc(handle: (message: Record<string, unknown>) => Promise<Record<string, unknown>>): void {
  const parent = process.ppid;
  // Exits when the bench runner is gone, whatever killed it.
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
  process.on('disconnect', () => process.exit(0));
  process.once('SIGTERM', () => process.exit(0));
  process.on('message', (message: Record<string, unknown>) => {
    handle(message).then(
      (reply) => process.send?.({ ...reply, id: message.id }),
      (err: unknown) => process.send?.({ id: message.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}
