import type { CreateRequest } from './create-request.ts';
import type { OpenAIScenario } from './directives.ts';
import { echoSuffix } from './errors.ts';
import { createEventLog } from './event-log.ts';
import { createResponseObject } from './response-object.ts';
import type { ResponseRecord } from './response-record.ts';
import { startResponseRun } from './response-run.ts';
import { createResponseState } from './response-state.ts';
import { responseScript } from './script.ts';
import { answerDeltas, countTokens, vendorId } from './text.ts';

/** The vendor's default resume window: a response can be streamed by GET for 5 minutes. */
export const DEFAULT_RESUME_WINDOW_MS = 5 * 60_000;

/** A validated create and the defaults for what its directives leave out. */
export interface StartResponseOptions {
  request: CreateRequest;
  scenario: OpenAIScenario;
  /** The caller's key, echoed only under `--sim-echo-token`. */
  apiKey: string;
  defaultSteps: number;
  defaultIntervalMs: number;
  now: () => number;
  /** Called once when the response ends. */
  onSettled: (id: string) => void;
}

/** Plans a response from its request and directives and starts running it; its first events are already logged. */
export function startResponse(options: StartResponseOptions): ResponseRecord {
  const { request, scenario, now } = options;
  const createdAtMs = now();
  const id = vendorId('resp');
  const echoed = scenario.echoToken ? options.apiKey : undefined;
  const steps = scenario.steps ?? options.defaultSteps;
  // A `max_output_tokens` below the planned deltas cuts the answer short, as the vendor does.
  const truncated = request.maxOutputTokens !== undefined && request.maxOutputTokens < steps;
  const deltas = answerDeltas(request.text, truncated ? (request.maxOutputTokens ?? 0) : steps);
  if (echoed !== undefined && deltas.length > 0) deltas[0] = `Authorization: Bearer ${echoed}`;

  const state = createResponseState(createResponseObject(id, createdAtMs, request), countTokens(request.text), now);
  const log = createEventLog();
  const run = startResponseRun({
    state,
    log,
    intervalMs: scenario.intervalMs ?? options.defaultIntervalMs,
    script: responseScript({
      background: request.background,
      deltas,
      outcome: truncated && scenario.outcome === 'completed' ? 'incomplete' : scenario.outcome,
      keepalive: scenario.keepalive,
      failureMessage: `Simulated failure: the response could not be generated${echoSuffix(echoed)}`,
    }),
    onSettled: () => options.onSettled(id),
  });
  return {
    id,
    state,
    log,
    run,
    background: request.background,
    streamed: request.stream,
    store: request.store,
    createdAtMs,
    resumeWindowMs: scenario.resumeWindowMs ?? DEFAULT_RESUME_WINDOW_MS,
    garbage: scenario.garbage,
  };
}
