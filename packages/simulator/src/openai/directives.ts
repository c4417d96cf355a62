import { choice, flag, int, parseDirectives } from '../directive-parser.ts';
import type { DirectiveResult, DirectiveTable } from '../directive-parser.ts';

/** How a simulated response ends. */
export type OpenAIOutcome = 'completed' | 'incomplete' | 'failed' | 'error';

/** What the `--sim-*` directives in a response's input ask for; absent fields take the defaults. */
export interface OpenAIScenario {
  /** `response.output_text.delta` events. */
  steps?: number;
  intervalMs?: number;
  outcome: OpenAIOutcome;
  /** The create's stream closes after this many events; the response runs on. */
  dropAfter?: number;
  /** The create's stream goes quiet (stays open, sends nothing) after this many events. */
  silentAfter?: number;
  /** Reject the create with this status. */
  status?: number;
  echoToken: boolean;
  garbage: boolean;
  keepalive: boolean;
  /** How long after creation the response may still be streamed by GET. */
  resumeWindowMs?: number;
}

const OUTCOMES: readonly OpenAIOutcome[] = ['completed', 'incomplete', 'failed', 'error'];

const DIRECTIVES: DirectiveTable<OpenAIScenario> = {
  steps: int(0, 10_000, (s, v) => void (s.steps = v)),
  interval: int(0, 60_000, (s, v) => void (s.intervalMs = v)),
  outcome: choice(OUTCOMES, (s, v) => void (s.outcome = v)),
  'drop-after': int(0, 100_000, (s, v) => void (s.dropAfter = v)),
  'silent-after': int(0, 100_000, (s, v) => void (s.silentAfter = v)),
  status: int(400, 599, (s, v) => void (s.status = v)),
  'echo-token': flag((s) => void (s.echoToken = true)),
  garbage: flag((s) => void (s.garbage = true)),
  keepalive: flag((s) => void (s.keepalive = true)),
  'resume-window': int(0, 86_400_000, (s, v) => void (s.resumeWindowMs = v)),
};

/** Reads `--sim-*` directives from the input text (kept as sent); unknown ones are an error. */
export function parseOpenAIScenario(text: string | undefined): DirectiveResult<OpenAIScenario> {
  return parseDirectives(text, DIRECTIVES, { outcome: 'completed', echoToken: false, garbage: false, keepalive: false });
}
