import { answerDeltas } from '../openai/text.ts';
import type { ReplicateScenario } from './directives.ts';

/** A prediction's statuses, as Replicate names them. */
export type PredictionStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';

/** One event of a prediction's stream, as Replicate names and numbers it (`<seconds>:<n>`, not a sequence number a client can count on). */
export interface StreamEvent {
  event: 'output' | 'logs' | 'error' | 'done';
  data: string;
  id: string;
}

/** What a run needs. */
export interface RunOptions {
  id: string;
  /** Language models stream text tokens as `output` events; the others log steps and end with image URLs. */
  language: boolean;
  prompt: string;
  scenario: ReplicateScenario;
  steps: number;
  intervalMs: number;
  /** The image URLs of an image model's output. */
  imageUrls: string[];
  /** Put into a log line and the error for `--sim-echo-token`. */
  echoedToken?: string;
  now: () => number;
  /** Called once when the prediction ends (succeeded, failed or canceled). */
  onEnd?: () => void;
}

/** The fields of a prediction that change as it runs. */
export interface RunView {
  status: PredictionStatus;
  output: unknown;
  logs: string;
  error: string | null;
  startedAt?: number;
  completedAt?: number;
}

/** One prediction advancing on its own timer, whoever watches it. */
export interface PredictionRun {
  view(): RunView;
  /** Every stream event so far, in order. */
  events(): readonly StreamEvent[];
  /** Listens to each new stream event until the prediction ends; returns the unsubscribe. */
  subscribe(listener: (event: StreamEvent) => void): () => void;
  /** Ends a running prediction `canceled`; false when it was already over. */
  cancel(): boolean;
  /** Clears the timer and drops the listeners (simulator shutdown). */
  stop(): void;
}

const TERMINAL: ReadonlySet<PredictionStatus> = new Set(['succeeded', 'failed', 'canceled']);

export const isTerminalStatus = (status: string) => TERMINAL.has(status as PredictionStatus);

/**
 * Starts a prediction in `starting`: one interval later `processing`, then one token (language
 * models) or one log line (image models) per interval, then `succeeded` (or `failed` with
 * `--sim-outcome failed`); the stream ends with `done` (after `error` when it failed).
 */
export function startRun(options: RunOptions): PredictionRun {
  const view: RunView = { status: 'starting', output: null, logs: '', error: null };
  const events: StreamEvent[] = [];
  const listeners = new Set<(event: StreamEvent) => void>();
  const second = Math.floor(options.now() / 1000);
  const tokens = options.language ? answerDeltas(options.prompt, options.steps) : [];
  let done = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const emit = (event: StreamEvent['event'], data: string) => {
    const sent = { event, data, id: `${second}:${events.length}` };
    events.push(sent);
    for (const listener of [...listeners]) listener(sent);
  };
  const log = (line: string) => {
    view.logs += `${line}\n`;
    emit('logs', line);
  };
  const end = (status: PredictionStatus, reason?: string) => {
    clearTimeout(timer);
    view.status = status;
    view.completedAt = options.now();
    if (status === 'failed') emit('error', JSON.stringify({ detail: view.error }));
    emit('done', JSON.stringify(reason ? { reason } : {}));
    listeners.clear();
    options.onEnd?.();
  };
  const step = () => {
    if (done >= options.steps) {
      if (options.scenario.outcome === 'failed') {
        const echo = options.echoedToken === undefined ? '' : ` (Authorization: Bearer ${options.echoedToken})`;
        view.error = `Prediction failed: the simulated model raised an error${echo}`;
        return end('failed', 'error');
      }
      if (!options.language) view.output = options.imageUrls;
      return end('succeeded');
    }
    done++;
    if (options.language) {
      const token = tokens[done - 1] ?? '';
      view.output = [...((view.output as string[] | null) ?? []), token];
      emit('output', token);
    } else {
      log(`step ${done}/${options.steps}`);
    }
    timer = setTimeout(step, options.intervalMs);
  };
  timer = setTimeout(() => {
    view.status = 'processing';
    view.startedAt = options.now();
    if (options.echoedToken !== undefined) log(`Authorization: Bearer ${options.echoedToken}`);
    step();
  }, options.intervalMs);

  return {
    view: () => ({ ...view }),
    events: () => events,
    subscribe(listener) {
      if (TERMINAL.has(view.status)) return () => {};
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    cancel() {
      if (TERMINAL.has(view.status)) return false;
      end('canceled', 'canceled');
      return true;
    },
    stop() {
      clearTimeout(timer);
      listeners.clear();
    },
  };
}
