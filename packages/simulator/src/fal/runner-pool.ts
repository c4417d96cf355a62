import type { FalRun } from './request-run.ts';

/** At most `maxRunning` requests past the queue at a time; the rest wait in order (fal queues, it never rejects). */
export interface RunnerPool {
  enqueue(run: FalRun): void;
  /** A request completed: free its slot or its place in the line, and admit the next. */
  settled(run: FalRun): void;
  running(): number;
  queued(): number;
}

/** Creates an empty pool. */
export function createRunnerPool(maxRunning: number): RunnerPool {
  const limit = Math.max(1, maxRunning);
  const waiting: FalRun[] = [];
  const admitted = new Set<FalRun>();

  const pump = () => {
    while (admitted.size < limit && waiting.length > 0) {
      const next = waiting.shift()!;
      admitted.add(next);
      next.admit();
    }
    for (const [ahead, run] of waiting.entries()) run.waitAt(ahead);
  };

  return {
    enqueue(run) {
      waiting.push(run);
      pump();
    },
    settled(run) {
      admitted.delete(run);
      const index = waiting.indexOf(run);
      if (index >= 0) waiting.splice(index, 1);
      pump();
    },
    running: () => admitted.size,
    queued: () => waiting.length,
  };
}
