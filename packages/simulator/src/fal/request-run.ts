import type { ModelAnswer } from './model.ts';
import { createRequestState } from './request-state.ts';
import type { FalChange } from './request-state.ts';
import type { FalRequestView } from './status.ts';

/** The schedule of one request once a runner slot is free. */
export interface FalRunPlan {
  /** Status updates spent `IN_QUEUE` after admission (positions `queueTicks - 1` … 0). */
  queueTicks: number;
  /** `IN_PROGRESS` log lines before completion. */
  steps: number;
  intervalMs: number;
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
  /** Called once when the request completes (done or cancelled), to free its place in the line or its slot. */
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
  /** A slot is free: the `IN_QUEUE` ticks, then the `IN_PROGRESS` steps, then `COMPLETED`. */
  admit(): void;
  cancel(): CancelOutcome;
  /** Clears the timer and drops the watchers without completing (simulator shutdown). */
  stop(): void;
}

/** Creates a run in `IN_QUEUE`, waiting for the pool to admit it; the run owns the request's one timer. */
export function createFalRun(options: FalRunOptions): FalRun {
  const { plan } = options;
  const state = createRequestState(options.requestId, options.now);
  let admitted = false;
  let ticksLeft = plan.queueTicks;
  let stepsDone = 0;
  let cancelRequested = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const schedule = (next: () => void) => {
    clearTimeout(timer);
    timer = setTimeout(next, plan.intervalMs);
  };
  const finish = (answer: (inferenceSeconds: number) => ModelAnswer) => {
    clearTimeout(timer);
    state.complete(answer);
    options.onSettled(run);
  };
  // Phase 2: one log line per interval, then the model's answer (or the cancellation, at the next step).
  const step = () => {
    if (cancelRequested) return finish(options.cancelled);
    if (stepsDone >= plan.steps) return finish(options.answer);
    stepsDone++;
    state.log(`step ${stepsDone}/${plan.steps}`);
    schedule(step);
  };
  const start = () => {
    const echoed = options.echoedKey === undefined ? [] : [{ message: `Authorization: Key ${options.echoedKey}`, level: 'DEBUG' as const }];
    state.start(echoed);
    schedule(step);
  };
  // Phase 1: admitted, the position counts down to 0, one update per interval.
  const tick = () => {
    ticksLeft--;
    if (ticksLeft === 0) return start();
    state.setPosition(ticksLeft - 1);
    schedule(tick);
  };

  const run: FalRun = {
    requestId: options.requestId,
    view: () => state.view(),
    get answer() {
      return state.answer;
    },
    get completedAt() {
      return state.completedAt;
    },
    subscribe: (listener) => state.subscribe(listener),
    waitAt(ahead) {
      if (!admitted && state.status === 'IN_QUEUE') state.setPosition(ahead + plan.queueTicks);
    },
    admit() {
      if (admitted || state.status !== 'IN_QUEUE') return;
      admitted = true;
      if (ticksLeft === 0) return start();
      state.setPosition(ticksLeft - 1);
      schedule(tick);
    },
    cancel() {
      if (state.status === 'COMPLETED') return 'ALREADY_COMPLETED';
      if (state.status === 'IN_QUEUE') {
        finish(options.cancelled);
        return 'OK';
      }
      cancelRequested = true;
      return 'CANCELLATION_REQUESTED';
    },
    stop() {
      clearTimeout(timer);
      state.clear();
    },
  };
  return run;
}
