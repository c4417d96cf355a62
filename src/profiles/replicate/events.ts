/**
 * What the replicate profile stores of a prediction, event by event (the uniform path's `data:`),
 * and the vendor events each stands for on the drop-in stream. A stored event's data is a JSON
 * envelope: a streamed event as Replicate sent it, `{"event":"output"|"logs"|"error"|"done","data":<its text>}`
 * (the final `done` also with the `prediction` as it ended), or a status change (the create's answer,
 * a poll, the gateway's own end) `{"event":"status","prediction":{…},"stream":[<vendor events>]}`,
 * where `stream` holds what Replicate's stream would have said of it: the output pieces and log
 * lines that are new, and `error`/`done` at the end.
 */
import { isRecord } from '../../core/ingest/event.ts';

/** One event of Replicate's stream, as it names and frames it. */
export interface VendorEvent {
  event: string;
  data: string;
}

/** The events Replicate's prediction stream sends. */
export const STREAM_EVENTS: ReadonlySet<string> = new Set(['output', 'logs', 'error', 'done']);

/** Prediction statuses after which it is over (`aborted`: newer docs name it). */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'canceled', 'aborted']);

/** A prediction without its `urls`: the stored frames never name the vendor's stream (it needs no key). */
export function withoutUrls(prediction: Record<string, unknown>): Record<string, unknown> {
  const { urls: _urls, ...rest } = prediction;
  return rest;
}

const outputs = (prediction: Record<string, unknown> | undefined): unknown[] | undefined =>
  Array.isArray(prediction?.output) ? prediction.output : undefined;
const logsOf = (prediction: Record<string, unknown> | undefined): string => (typeof prediction?.logs === 'string' ? prediction.logs : '');
const asText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** The output pieces of `now` that `last` did not have (an output that is not an array: all of it, when it changed). */
function newOutput(now: Record<string, unknown>, last: Record<string, unknown> | undefined): VendorEvent[] {
  const pieces = outputs(now);
  if (pieces) return pieces.slice(outputs(last)?.length ?? 0).map((piece) => ({ event: 'output', data: asText(piece) }));
  if (now.output === null || now.output === undefined || JSON.stringify(now.output) === JSON.stringify(last?.output)) return [];
  return [{ event: 'output', data: asText(now.output) }];
}

/** The log lines of `now` after those of `last` (none when its logs do not continue them). */
function newLogs(now: Record<string, unknown>, last: Record<string, unknown> | undefined): VendorEvent[] {
  const before = logsOf(last);
  const logs = logsOf(now);
  if (!logs.startsWith(before)) return [];
  return logs
    .slice(before.length)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => ({ event: 'logs', data: line }));
}

/** How Replicate's stream ends for a status: `done` (with the reason when not a success), `error` first when it failed. */
function ending(prediction: Record<string, unknown>): VendorEvent[] {
  const status = String(prediction.status);
  if (!TERMINAL_STATUSES.has(status)) return [];
  if (status === 'succeeded') return [{ event: 'done', data: '{}' }];
  if (status === 'failed') {
    const detail = typeof prediction.error === 'string' ? prediction.error : JSON.stringify(prediction.error ?? 'prediction failed');
    return [
      { event: 'error', data: JSON.stringify({ detail }) },
      { event: 'done', data: JSON.stringify({ reason: 'error' }) },
    ];
  }
  return [{ event: 'done', data: JSON.stringify({ reason: status }) }];
}

/** What Replicate's stream would have said between two states of a prediction. */
export function streamBetween(now: Record<string, unknown>, last: Record<string, unknown> | undefined): VendorEvent[] {
  return [...newLogs(now, last), ...newOutput(now, last), ...ending(now)];
}

/** The vendor events a stored envelope stands for on the drop-in stream (see the module's doc). */
export function vendorEventsOf(data: string): VendorEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return [];
  }
  if (!isRecord(parsed)) return [];
  if (parsed.event === 'status') return Array.isArray(parsed.stream) ? (parsed.stream as VendorEvent[]) : [];
  return typeof parsed.event === 'string' && typeof parsed.data === 'string' ? [{ event: parsed.event, data: parsed.data }] : [];
}
