import { choice, flag, int, parseDirectives } from '../directive-parser.ts';
import type { DirectiveResult, DirectiveTable } from '../directive-parser.ts';

/** How a simulated prediction ends (a cancel ends it `canceled`). */
export type ReplicateOutcome = 'succeeded' | 'failed';

/** What the `--sim-*` directives in `input.prompt` ask for; absent fields take the simulator's defaults. */
export interface ReplicateScenario {
  /** Output tokens (language models) or log lines (image models) before the prediction ends. */
  steps?: number;
  intervalMs?: number;
  outcome: ReplicateOutcome;
  /** The first stream of the prediction ends after this many events; the prediction goes on. */
  dropAfter?: number;
  /** Rejects the create with this HTTP status and Replicate's `{"detail"}` shape. */
  status?: number;
  /** How long the prediction keeps its input, output and logs after it ends, ms (Replicate: one hour). */
  retentionMs?: number;
  garbage: boolean;
  echoToken: boolean;
}

const OUTCOMES: readonly ReplicateOutcome[] = ['succeeded', 'failed'];

const DIRECTIVES: DirectiveTable<ReplicateScenario> = {
  steps: int(0, 999, (s, v) => void (s.steps = v)),
  interval: int(0, 60_000, (s, v) => void (s.intervalMs = v)),
  outcome: choice(OUTCOMES, (s, v) => void (s.outcome = v)),
  'drop-after': int(0, 10_000, (s, v) => void (s.dropAfter = v)),
  status: int(400, 599, (s, v) => void (s.status = v)),
  retention: int(0, 86_400_000, (s, v) => void (s.retentionMs = v)),
  garbage: flag((s) => void (s.garbage = true)),
  'echo-token': flag((s) => void (s.echoToken = true)),
};

/** Reads the Replicate `--sim-*` directives from a prompt; unknown ones are an error. */
export function parseReplicateScenario(prompt: string | undefined): DirectiveResult<ReplicateScenario> {
  return parseDirectives(prompt, DIRECTIVES, { outcome: 'succeeded', garbage: false, echoToken: false });
}
