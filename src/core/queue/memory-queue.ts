import type { CreateQueue, CreateQueueOptions } from './create-queue.ts';

/** The create queue of a single process (the memory bus): a Map keeps insertion order, so FIFO. */
export function createMemoryQueue(options: CreateQueueOptions & { now?: () => number }): CreateQueue {
  const now = options.now ?? Date.now;
  const entries = new Map<string, number>();

  function prune(): void {
    const t = now();
    for (const [id, expiresAt] of entries) if (expiresAt <= t) entries.delete(id);
  }

  function position(id: string): number {
    let i = 0;
    for (const key of entries.keys()) {
      if (key === id) return i;
      i++;
    }
    return -1;
  }

  return {
    async join(id, ttlMs) {
      prune();
      if (entries.has(id)) return position(id);
      if (entries.size >= options.max) return null;
      entries.set(id, now() + ttlMs);
      return entries.size - 1;
    },
    async refresh(id, ttlMs) {
      prune();
      if (!entries.has(id)) return null;
      entries.set(id, now() + ttlMs);
      return position(id);
    },
    async leave(id) {
      entries.delete(id);
    },
    async size() {
      prune();
      return entries.size;
    },
    async close() {
      entries.clear();
    },
  };
}
