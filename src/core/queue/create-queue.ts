/**
 * The create queue: callers waiting for upstream capacity, in arrival order, shared by every
 * instance (Redis) or by one process (memory). Entries are ids only; each one is kept alive by
 * the instance holding its caller and expires when that instance stops refreshing it.
 */
export interface CreateQueue {
  /** Adds `id` at the tail, alive for `ttlMs`; its 0-based position, or null when the queue is full. */
  join(id: string, ttlMs: number): Promise<number | null>;
  /**
   * Keeps `id` alive for another `ttlMs` and returns its 0-based position (0 = head), expired
   * entries pruned first; null when the entry is gone (expired, removed, or the store lost it).
   */
  refresh(id: string, ttlMs: number): Promise<number | null>;
  /** Removes `id`; safe for an id that is not there. */
  leave(id: string): Promise<void>;
  /** Live entries waiting now. */
  size(): Promise<number>;
  close(): Promise<void>;
}

/** Settings every queue implementation takes. */
export interface CreateQueueOptions {
  /** Most entries waiting at once across the cluster. */
  max: number;
}
