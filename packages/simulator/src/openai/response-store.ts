import type { ResponseRecord } from './response-record.ts';

/** Finished responses kept before the oldest are forgotten, so long benchmarks do not grow memory forever. */
const MAX_STORED_RESPONSES = 2_000;

/** Responses by id, in creation order, and which of them are still running (they count against capacity). */
export interface ResponseStore {
  add(record: ResponseRecord): void;
  get(id: string): ResponseRecord | undefined;
  delete(id: string): void;
  /** The response ended: it no longer counts as running. */
  settled(id: string): void;
  runningCount(): number;
  all(): Iterable<ResponseRecord>;
}

/** Creates an in-memory store. */
export function createResponseStore(): ResponseStore {
  const records = new Map<string, ResponseRecord>();
  const running = new Set<string>();
  const forgetOldFinished = () => {
    for (const id of records.keys()) {
      if (records.size <= MAX_STORED_RESPONSES) return;
      if (!running.has(id)) records.delete(id);
    }
  };
  return {
    add(record) {
      records.set(record.id, record);
      if (record.run.running) running.add(record.id);
      forgetOldFinished();
    },
    get: (id) => records.get(id),
    delete: (id) => void records.delete(id),
    settled: (id) => void running.delete(id),
    runningCount: () => running.size,
    all: () => records.values(),
  };
}
