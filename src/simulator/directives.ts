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
export type ScenarioResult = { ok: true; scenario: Scenario } | { ok: false; error: string };

const OUTCOMES: readonly Outcome[] = ['completed', 'failed', 'moderated', 'error'];
const PREFIX = '--sim-';

type Directive =
  | { kind: 'flag'; apply(s: Scenario): void }
  | { kind: 'int'; min: number; max: number; apply(s: Scenario, value: number): void }
  | { kind: 'outcome'; apply(s: Scenario, value: Outcome): void };

const DIRECTIVES: Record<string, Directive> = {
  steps: { kind: 'int', min: 0, max: 99, apply: (s, v) => void (s.steps = v) },
  interval: { kind: 'int', min: 0, max: 60_000, apply: (s, v) => void (s.intervalMs = v) },
  outcome: { kind: 'outcome', apply: (s, v) => void (s.outcome = v) },
  'drop-after': { kind: 'int', min: 0, max: 10_000, apply: (s, v) => void (s.dropAfter = v) },
  garbage: { kind: 'flag', apply: (s) => void (s.garbage = true) },
  status: { kind: 'int', min: 400, max: 599, apply: (s, v) => void (s.status = v) },
  'echo-token': { kind: 'flag', apply: (s) => void (s.echoToken = true) },
};

/** Names of the supported directives, without the `--sim-` prefix. */
export const DIRECTIVE_NAMES = Object.keys(DIRECTIVES);

/** Reads `--sim-*` directives from a prompt (the prompt itself is kept as sent); unknown ones are an error. */
export function parseScenario(prompt: string | undefined): ScenarioResult {
  const scenario: Scenario = { outcome: 'completed', garbage: false, echoToken: false };
  const tokens = (prompt ?? '').split(/\s+/);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    if (!token.startsWith(PREFIX)) continue;
    const name = token.slice(PREFIX.length);
    const directive = Object.hasOwn(DIRECTIVES, name) ? DIRECTIVES[name] : undefined;
    if (!directive) return { ok: false, error: `Unknown directive ${token}` };
    if (directive.kind === 'flag') {
      directive.apply(scenario);
      continue;
    }
    const value = tokens[++i] ?? '';
    if (directive.kind === 'outcome') {
      const outcome = OUTCOMES.find((o) => o === value);
      if (!outcome) return { ok: false, error: `${token} expects one of ${OUTCOMES.join('|')}` };
      directive.apply(scenario, outcome);
      continue;
    }
    const number = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(number >= directive.min && number <= directive.max)) {
      return { ok: false, error: `${token} expects an integer ${directive.min}-${directive.max}` };
    }
    directive.apply(scenario, number);
  }
  return { ok: true, scenario };
}
