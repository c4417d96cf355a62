import type { ModelAnswer } from './model.ts';
import type { FalLog, FalRequestView, FalStatusName } from './status.ts';

/** What changed: the queue position, the state, or new log lines (`newLogs`, in order). */
export interface FalChange {
  kind: 'position' | 'status' | 'log';
  newLogs: readonly FalLog[];
}

/** One request's state and its watchers: every change is told to each watcher once, in order. */
export interface FalRequestState {
  readonly requestId: string;
  readonly status: FalStatusName;
  /** The result call's answer, once `COMPLETED`. */
  readonly answer: ModelAnswer | undefined;
  readonly completedAt: number | undefined;
  view(): FalRequestView;
  /** Listens to every change until the request completes; returns the unsubscribe. */
  subscribe(listener: (change: FalChange) => void): () => void;
  setPosition(position: number): void;
  /** `IN_QUEUE` → `IN_PROGRESS`, with the log lines it starts with. */
  start(firstLogs: ReadonlyArray<Pick<FalLog, 'message' | 'level'>>): void;
  log(message: string): void;
  /** → `COMPLETED` with the answer built from the seconds spent `IN_PROGRESS`; then drops the watchers. */
  complete(answer: (inferenceSeconds: number) => ModelAnswer): void;
  /** Drops the watchers without a change (simulator shutdown). */
  clear(): void;
}

/** A request in `IN_QUEUE` at position 0. */
export function createRequestState(requestId: string, now: () => number): FalRequestState {
  const listeners = new Set<(change: FalChange) => void>();
  const logs: FalLog[] = [];
  let status: FalStatusName = 'IN_QUEUE';
  let position = 0;
  let startedAt: number | undefined;
  let completedAt: number | undefined;
  let answer: ModelAnswer | undefined;
  let inference = 0;

  const emit = (kind: FalChange['kind'], newLogs: readonly FalLog[] = []) => {
    for (const listener of [...listeners]) {
      try {
        listener({ kind, newLogs });
      } catch {
        // one failing watcher never stops the request or the others
      }
    }
  };
  const append = ({ message, level }: Pick<FalLog, 'message' | 'level'>): FalLog => {
    const entry: FalLog = { message, level, source: 'USER', timestamp: new Date(now()).toISOString() };
    logs.push(entry);
    return entry;
  };

  return {
    requestId,
    get status() {
      return status;
    },
    get answer() {
      return answer;
    },
    get completedAt() {
      return completedAt;
    },
    view() {
      const view: FalRequestView = { requestId, status, queuePosition: position, logs: [...logs] };
      if (status === 'COMPLETED') view.inferenceSeconds = inference;
      if (answer?.error) view.error = answer.error;
      return view;
    },
    subscribe(listener) {
      if (status === 'COMPLETED') return () => {};
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    setPosition(next) {
      if (next === position) return;
      position = next;
      emit('position');
    },
    start(firstLogs) {
      status = 'IN_PROGRESS';
      startedAt = now();
      emit('status', firstLogs.map(append));
    },
    log(message) {
      emit('log', [append({ message, level: 'INFO' })]);
    },
    complete(build) {
      completedAt = now();
      inference = startedAt === undefined ? 0 : (completedAt - startedAt) / 1000;
      answer = build(inference);
      status = 'COMPLETED';
      emit('status');
      listeners.clear();
    },
    clear: () => listeners.clear(),
  };
}
