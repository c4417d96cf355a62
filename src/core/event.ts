/** The upstream event envelope: `{"event","seq","ts",...}` parsed once, raw JSON kept byte for byte. */
import { MAX_JSON_DEPTH, jsonTooDeep } from './json-depth.ts';

/** Event names after which the upstream job is over. */
export const TERMINAL_EVENTS: ReadonlySet<string> = new Set([
  'midjourney_completed',
  'midjourney_failed',
  'midjourney_moderated',
  'midjourney_cancelled',
  'error',
]);

/** Job statuses after which the upstream job is over. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'moderated', 'cancelled']);

/**
 * Largest seq accepted from the upstream: 2^52. Seqs the relay synthesizes (polling, deadline)
 * continue after the last stored one, so this leaves 2^52 of headroom below
 * Number.MAX_SAFE_INTEGER, the largest seq a bus stores. Above it an event counts as malformed.
 */
export const MAX_UPSTREAM_SEQ = 2 ** 52;

/** Largest seq any bus stores (and any client may resume from). */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** One upstream event as the relay stores and forwards it. */
export interface JobEvent {
  seq: number;
  /** The upstream `event` name. */
  type: string;
  /** The upstream JSON text, exactly as received. */
  data: string;
  terminal: boolean;
  /** The job id the event names (`jobId` or `job.jobid`), when it names one. */
  jobId?: string;
  /** The job object the event carries, if any. */
  job?: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses one upstream `data:` payload; returns a reason string when it is not a valid event. */
export function parseEvent(data: string): JobEvent | string {
  // Too deep to store or serve (JSON.stringify of its job object would overflow the stack).
  if (jsonTooDeep(data)) return `nested deeper than ${MAX_JSON_DEPTH} levels`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return 'not JSON';
  }
  if (!isRecord(parsed)) return 'not a JSON object';
  const { event, seq } = parsed;
  if (typeof event !== 'string' || event === '') return 'missing event name';
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return 'missing or invalid seq';
  if (seq > MAX_UPSTREAM_SEQ) return 'seq out of range';
  const job = isRecord(parsed.job) ? parsed.job : undefined;
  const jobId = typeof parsed.jobId === 'string' ? parsed.jobId : typeof job?.jobid === 'string' ? job.jobid : undefined;
  const result: JobEvent = { seq, type: event, data, terminal: TERMINAL_EVENTS.has(event) };
  if (jobId !== undefined) result.jobId = jobId;
  if (job !== undefined) result.job = job;
  return result;
}

/** Wall-clock `HH:MM:SS.mmm` (UTC), the vendor's `ts` format. */
export function vendorTimestamp(date: Date): string {
  return date.toISOString().slice(11, 23);
}

/** Builds an event in the vendor's shape for a job status seen by polling. */
export function synthesizeEvent(seq: number, job: Record<string, unknown>, now: Date): JobEvent {
  const status = typeof job.status === 'string' ? job.status : 'progress';
  const type = `midjourney_${status}`;
  const data = JSON.stringify({ event: type, job, seq, ts: vendorTimestamp(now) });
  const result: JobEvent = { seq, type, data, terminal: TERMINAL_STATUSES.has(status), job };
  if (typeof job.jobid === 'string') result.jobId = job.jobid;
  return result;
}

/** Builds a terminal `error` event for a job the relay had to give up on. */
export function synthesizeErrorEvent(seq: number, error: string, now: Date): JobEvent {
  const data = JSON.stringify({ event: 'error', seq, ts: vendorTimestamp(now), error });
  return { seq, type: 'error', data, terminal: true };
}
