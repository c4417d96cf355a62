import type { ModelAnswer } from './model.ts';
import type { FalLog, FalRequestView, FalStatusName } from './status.ts';

/** The schedule of one request once a runner slot is free. */
export interface FalRunPlan {
  /** Status updates spent `IN_QUEUE` after admission (positions `queueTicks - 1` … 0). */
  queueTicks: number;
  /** `IN_PROGRESS` log lines before completion. */
  steps: number;
  intervalMs: number;
}

/** What changed: the queue position, the state, or new log lines (`newLogs`, in order). */
export interface FalChange {
  kind: 'position' | 'status' | 'log';
  newLogs: readonly FalLog[];
}

/** Everything a run needs. */
export interface FalRunOptions {
  requestId: string;
  plan: FalRunPlan;
  /** The model's answer, asked once when the steps are done. */
  answer: (inferenceSeconds: number) => ModelAnswer;
  /** The answer of a cancelled request. */
  cancelled: () => ModelAnswer;
  /** Put into a log line for `--sim-echo-token`. */
  echoedKey?: string;
  now: () => number;
  /** Called once when the request completes (done or cancelled), to free its place in the queue or its slot. */
  onSettled: (run: FalRun) => void;
}

/** How a cancel was taken: removed from the queue, signalled to the runner, or too late. */
export type CancelOutcome = 'OK' | 'CANCELLATION_REQUESTED' | 'ALREADY_COMPLETED';

/** One request advancing on its own timer, whoever watches it; the runner pool calls `waitAt` and `admit`. */
export interface FalRun {
  readonly requestId: string;
  view(): FalRequestView;
  /** The result call's answer, once `COMPLETED`. */
  readonly answer: ModelAnswer | undefined;
  readonly completedAt: number | undefined;
  /** Listens to every change until the request completes; returns the unsubscribe. */
  subscribe(listener: (change: FalChange) => void): () => void;
  /** Waiting for a slot with `ahead` requests before it. */
  waitAt(ahead: number): void;
  /** A slot is free: start the `IN_QUEUE` ticks, then `IN_PROGRESS`. */
  admit(): void;
  cancel(): CancelOutcome;
  /** Clears the timer and drops the listeners without completing (simulator shutdown). */
  stop(): void;
}

/** Creates a run in `IN_QUEUE`, waiting for the pool to admit it. */
export function createFalRun(options: FalRunOptions): FalRun {
  const { plan, now } = options;
  const listeners = new Set<(change: FalChange) => void>();
  const logs: FalLog[] = [];
  let status: FalStatusName = 'IN_QUEUE';
  let position = 0;
  let admitted = false;
  let ticksLeft = plan.queueTicks;
  let stepsDone = 0;
  let cancelRequested = false;
  let startedAt: number | undefined;
  let completedAt: number | undefined;
  let answer: ModelAnswer | undefined;
  let inference = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const emit = (kind: FalChange['kind'], newLogs: readonly FalLog[] = []) => {
    for (const listener of [...listeners]) {
      try {
        listener({ kind, newLogs });
      } catch {
        // one failing watcher never stops the request or the others
      }
    }
  };
  const schedule = (next: () => void) => {
    clearTimeout(timer);
    timer = setTimeout(next, plan.intervalMs);
  };
  const setPosition = (next: number) => {
    if (next === position) return;
    position = next;
    emit('position');
  };
  const log = (message: string, level: FalLog['level'] = 'INFO'): FalLog => {
    const entry: FalLog = { message, level, source: 'USER', timestamp: new Date(now()).toISOString() };
    logs.push(entry);
    return entry;
  };
  const complete = (result: (inferenceSeconds: number) => ModelAnswer) => {
    clearTimeout(timer);
    completedAt = now();
    inference = startedAt === undefined ? 0 : (completedAt - startedAt) / 1000;
    answer = result(inference);
    status = 'COMPLETED';
    emit('status');
    listeners.clear();
    options.onSettled(run);
  };
  const step = () => {
    if (cancelRequested) return complete(options.cancelled);
    if (stepsDone >= plan.steps) return complete(options.answer);
    stepsDone++;
    emit('log', [log(`step ${stepsDone}/${plan.steps}`)]);
    schedule(step);
  };
  const start = () => {
    status = 'IN_PROGRESS';
    startedAt = now();
    emit('status', options.echoedKey === undefined ? [] : [log(`Authorization: Key ${options.echoedKey}`, 'DEBUG')]);
    schedule(step);
  };
  const warm = () => {
    ticksLeft--;
    if (ticksLeft > 0) {
      setPosition(ticksLeft - 1);
      schedule(warm);
    } else start();
  };

  const run: FalRun = {
    requestId: options.requestId,
    view: () => {
      const view: FalRequestView = { requestId: options.requestId, status, queuePosition: position, logs: [...logs] };
      if (status === 'COMPLETED') view.inferenceSeconds = inference;
      if (answer?.error) view.error = answer.error;
      return view;
    },
    get answer() {
      return answer;
    },
    get completedAt() {
      return completedAt;
    },
    subscribe(listener) {
      if (status === 'COMPLETED') return () => {};
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    waitAt(ahead) {
      if (!admitted && status === 'IN_QUEUE') setPosition(ahead + plan.queueTicks);
    },
    admit() {
      if (admitted || status !== 'IN_QUEUE') return;
      admitted = true;
      if (ticksLeft === 0) return start();
      setPosition(ticksLeft - 1);
      schedule(warm);
    },
    cancel() {
      if (status === 'COMPLETED') return 'ALREADY_COMPLETED';
      if (status === 'IN_QUEUE') {
        complete(options.cancelled);
        return 'OK';
      }
      cancelRequested = true;
      return 'CANCELLATION_REQUESTED';
    },
    stop() {
      clearTimeout(timer);
      listeners.clear();
    },
  };
  return run;
}
