import type { EventLog } from './event-log.ts';
import type { ResponseState } from './response-state.ts';
import type { Beat } from './script.ts';

/** A response advancing on a timer, whoever is (or is not) reading its streams. */
export interface ResponseRun {
  readonly running: boolean;
  /** Ends a running response as cancelled (its streams get the terminal event); false if it had already ended. */
  cancel(): boolean;
  /** Clears the timer without touching the response (simulator shutdown). */
  stop(): void;
}

/** What a run drives: the state, its script, and the log the events go to. */
export interface ResponseRunOptions {
  state: ResponseState;
  script: readonly Beat[][];
  log: EventLog;
  intervalMs: number;
  /** Called once when the response ends (terminal or cancelled), to free its slot. */
  onSettled: () => void;
}

/** Starts a run: the first tick goes out at once, each later one after `intervalMs`; the last ends the log. */
export function startResponseRun(options: ResponseRunOptions): ResponseRun {
  const { state, script, log } = options;
  let next = 0;
  let running = true;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const settle = () => {
    running = false;
    clearTimeout(timer);
    log.end();
    options.onSettled();
  };
  const tick = () => {
    for (const beat of script[next++] ?? []) log.append(beat(state));
    if (next >= script.length) settle();
    else timer = setTimeout(tick, options.intervalMs);
  };
  tick();

  return {
    get running() {
      return running;
    },
    cancel() {
      if (!running) return false;
      log.append(state.cancelled());
      settle();
      return true;
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
