import type { EventLog } from './event-log.ts';
import type { ResponseRun } from './response-run.ts';
import type { ResponseState } from './response-state.ts';

/** Everything the simulator keeps about one response. */
export interface ResponseRecord {
  readonly id: string;
  readonly state: ResponseState;
  readonly log: EventLog;
  readonly run: ResponseRun;
  readonly background: boolean;
  /** The create asked for `stream: true`; only such background responses can be streamed again by GET. */
  readonly streamed: boolean;
  readonly store: boolean;
  readonly createdAtMs: number;
  /** GET `?stream=true` is refused this long after creation. */
  readonly resumeWindowMs: number;
  /** `--sim-garbage`: every stream of this response mixes in junk. */
  readonly garbage: boolean;
}

/** Whether GET, cancel and DELETE can see the response: background ones always; others once finished, and only if stored. */
export function isVisible(record: ResponseRecord): boolean {
  if (record.background) return true;
  // A non-background response still running is reported as not found (a secondary source).
  return record.store && !record.run.running;
}
