import type { Job } from './job.ts';

/** One stream payload; `event` is always the first key, `seq` and `ts` follow the body as in the vendor's examples. */
export type SimEvent = { event: string } & Record<string, unknown> & { seq: number; ts: string };

/** Wall-clock time as the vendor formats `ts`: `HH:MM:SS.mmm` (UTC). */
export function formatTs(at: number): string {
  const date = new Date(at);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}`;
}

/** The first event of every stream. */
export function initializedEvent(jobId: string, seq: number, at: number): SimEvent {
  return { event: 'initialized', message: 'Stream initialized', jobId, seq, ts: formatTs(at) };
}

/** A `midjourney_<status>` event carrying the whole job. */
export function jobEvent(job: Job, seq: number, at: number): SimEvent {
  return { event: `midjourney_${job.status}`, job, seq, ts: formatTs(at) };
}

/** The vendor's catch-all terminal `error` event (shape assumed: no job). */
export function errorEvent(error: string, seq: number, at: number): SimEvent {
  return { event: 'error', error, seq, ts: formatTs(at) };
}
