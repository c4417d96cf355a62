import { choice, flag, int, parseDirectives } from '../directive-parser.ts';
import type { DirectiveResult, DirectiveTable } from '../directive-parser.ts';

/** How a simulated fal request ends: the model's output, or a model error (422 at the result call). */
export type FalOutcome = 'completed' | 'error';

/** What the `--sim-*` directives in `input.prompt` ask for; absent fields take the simulator's defaults. */
export interface FalScenario {
  /** IN_PROGRESS log lines before the request completes. */
  steps?: number;
  intervalMs?: number;
  /** Status updates the request spends IN_QUEUE once a runner slot is free. */
  queue?: number;
  outcome: FalOutcome;
  /** The first status stream of the request ends after this many events; the request goes on. */
  dropAfter?: number;
  /** The first status stream of the request goes quiet after this many events and stays open. */
  silentAfter?: number;
  /** Rejects the submit with this HTTP status and fal's request-error shape. */
  status?: number;
  /** Rejects the submit with 429 while this many requests or more are unfinished (queued or running): a rate limit that clears. */
  busy?: number;
  /** How long the result stays fetchable after completion, ms. */
  retentionMs?: number;
  garbage: boolean;
  echoToken: boolean;
}

const OUTCOMES: readonly FalOutcome[] = ['completed', 'error'];

const DIRECTIVES: DirectiveTable<FalScenario> = {
  steps: int(0, 99, (s, v) => void (s.steps = v)),
  interval: int(0, 60_000, (s, v) => void (s.intervalMs = v)),
  queue: int(0, 99, (s, v) => void (s.queue = v)),
  outcome: choice(OUTCOMES, (s, v) => void (s.outcome = v)),
  'drop-after': int(0, 10_000, (s, v) => void (s.dropAfter = v)),
  'silent-after': int(0, 10_000, (s, v) => void (s.silentAfter = v)),
  status: int(400, 599, (s, v) => void (s.status = v)),
  busy: int(1, 10_000, (s, v) => void (s.busy = v)),
  retention: int(0, 86_400_000, (s, v) => void (s.retentionMs = v)),
  garbage: flag((s) => void (s.garbage = true)),
  'echo-token': flag((s) => void (s.echoToken = true)),
};

/** Reads the fal `--sim-*` directives from a prompt; unknown ones are an error. */
export function parseFalScenario(prompt: string | undefined): DirectiveResult<FalScenario> {
  return parseDirectives(prompt, DIRECTIVES, { outcome: 'completed', garbage: false, echoToken: false });
}
