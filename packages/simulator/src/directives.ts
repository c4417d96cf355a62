import { choice, flag, int, parseDirectives } from './directive-parser.ts';
import type { DirectiveResult, DirectiveTable } from './directive-parser.ts';

/** How a simulated job ends. */
export type Outcome = 'completed' | 'failed' | 'moderated' | 'error';

/** What the `--sim-*` directives in a prompt ask the simulator to do; absent fields take the defaults. */
export interface Scenario {
  steps?: number;
  intervalMs?: number;
  outcome: Outcome;
  dropAfter?: number;
  garbage: boolean;
  status?: number;
  echoToken: boolean;
}

/** Either the parsed scenario or why the directives are invalid (a 400). */
export type ScenarioResult = DirectiveResult<Scenario>;

const OUTCOMES: readonly Outcome[] = ['completed', 'failed', 'moderated', 'error'];

const DIRECTIVES: DirectiveTable<Scenario> = {
  steps: int(0, 99, (s, v) => void (s.steps = v)),
  interval: int(0, 60_000, (s, v) => void (s.intervalMs = v)),
  outcome: choice(OUTCOMES, (s, v) => void (s.outcome = v)),
  'drop-after': int(0, 10_000, (s, v) => void (s.dropAfter = v)),
  garbage: flag((s) => void (s.garbage = true)),
  status: int(400, 599, (s, v) => void (s.status = v)),
  'echo-token': flag((s) => void (s.echoToken = true)),
};

/** Names of the supported directives, without the `--sim-` prefix. */
export const DIRECTIVE_NAMES = Object.keys(DIRECTIVES);

/** Reads the Midjourney `--sim-*` directives from a prompt; unknown ones are an error. */
export function parseScenario(prompt: string | undefined): ScenarioResult {
  return parseDirectives(prompt, DIRECTIVES, { outcome: 'completed', garbage: false, echoToken: false });
}
