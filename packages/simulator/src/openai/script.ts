import type { OpenAIOutcome } from './directives.ts';
import type { EventBody, ResponseState } from './response-state.ts';

/** One step of a response: changes its state and returns the event that announces it. */
export type Beat = (state: ResponseState) => EventBody;

/** What a response will do, decided at create time. */
export interface ScriptPlan {
  background: boolean;
  deltas: readonly string[];
  outcome: OpenAIOutcome;
  /** A `keepalive` event after `response.in_progress` and after every delta. */
  keepalive: boolean;
  /** The text of `response.error` / the `error` event for the failing outcomes. */
  failureMessage: string;
}

/**
 * The events of a text answer in the order the vendor sends them, grouped into ticks: the beats of one tick go out
 * together, one tick per interval. The last tick ends with the terminal event.
 */
export function responseScript(plan: ScriptPlan): Beat[][] {
  const keepalive: Beat[][] = plan.keepalive ? [[(s) => s.keepalive()]] : [];
  const ticks: Beat[][] = [
    plan.background ? [(s) => s.created(), (s) => s.queued()] : [(s) => s.created()],
    [(s) => s.inProgress()],
    ...keepalive,
    [(s) => s.itemAdded(), (s) => s.partAdded()],
  ];
  for (const delta of plan.deltas) ticks.push([(s) => s.delta(delta)], ...keepalive);
  ticks.push(ending(plan));
  return ticks;
}

function ending(plan: ScriptPlan): Beat[] {
  const message = plan.failureMessage;
  switch (plan.outcome) {
    case 'completed':
      return [(s) => s.textDone(), (s) => s.partDone(), (s) => s.itemDone('completed'), (s) => s.completed()];
    case 'incomplete':
      return [(s) => s.textDone(), (s) => s.partDone(), (s) => s.itemDone('incomplete'), (s) => s.incomplete('max_output_tokens')];
    case 'failed':
      return [(s) => s.failed(message)];
    case 'error':
      return [(s) => s.error(message), (s) => s.failed(message)];
  }
}
