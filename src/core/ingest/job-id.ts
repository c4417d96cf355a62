import { RelayError } from '../errors.ts';
import type { JobEvent } from './event.ts';

/** Job ids safe in an upstream URL, a bus (Redis) key, an SSE field and a header: no `/`, `%`, spaces, braces or CR/LF. */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$/;

/** True when a job id (from a client or from the upstream) may be used as a key and in URLs. */
export function isValidJobId(value: unknown): value is string {
  return typeof value === 'string' && JOB_ID.test(value);
}

/**
 * The job id an upstream event names, if it names one; the one check every runtime applies
 * (an upstream-chosen id becomes a bus key, a URL segment and a header: it must be safe).
 */
export function namedJobId(event: JobEvent): string | undefined {
  return event.jobId === undefined ? undefined : upstreamJobId(event.jobId);
}

/** A job id the upstream chose (an event's, a create answer's), if it is safe; an `upstream_error` if not. */
export function upstreamJobId(jobId: string): string {
  if (!isValidJobId(jobId)) throw new RelayError('upstream_error', 'upstream named an invalid job id');
  return jobId;
}
