import type { Context } from 'hono';
import type { JobRef } from '../core/auth/job-ref.ts';
import { RelayError } from '../core/errors.ts';
import { decodeMuxId } from '../core/fanout/mux-id.ts';
import { requireJobsAccess } from './auth.ts';
import { type MuxRequest, muxJobs } from './multiplex-response.ts';
import type { Security } from './security.ts';
import { resumePoint } from './subscription-response.ts';
import { checkJobId } from './validate.ts';

/** The longest piece of a client's input an error message repeats. */
const QUOTE_MAX = 64;
const quote = (text: string) => JSON.stringify(text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}…` : text);

/**
 * Reads `jobs=<profile>/<id>,<profile>/<id>,…` (each URL-encoded, any mix of `profiles`, a job
 * named twice counted once): 400 without jobs or past `maxJobs` (MAX_STREAM_JOBS), 404 for a profile not served.
 */
export function parseStreamJobs(raw: string | undefined, profiles: readonly string[], maxJobs: number): JobRef[] {
  const parts = (raw ?? '').split(',').filter((part) => part !== '');
  if (parts.length === 0) throw new RelayError('bad_request', 'jobs is required: jobs=<profile>/<id>,<profile>/<id>,…');
  const unique = [...new Set(parts)];
  if (unique.length > maxJobs) {
    throw new RelayError('bad_request', `too many jobs: ${unique.length}; one stream carries at most ${maxJobs} (MAX_STREAM_JOBS)`);
  }
  return unique.map((part) => {
    const slash = part.indexOf('/');
    if (slash < 0) throw new RelayError('bad_request', `each job is <profile>/<id>: ${quote(part)}`);
    const profile = part.slice(0, slash);
    if (!profiles.includes(profile)) {
      throw new RelayError('not_found', `unknown profile ${quote(profile)}; expected one of ${profiles.join(', ')}`);
    }
    const jobId = part.slice(slash + 1);
    try {
      return { profile, jobId: checkJobId(jobId) };
    } catch (err) {
      throw err instanceof RelayError ? new RelayError(err.code, `${quote(part)}: ${err.message}`) : err;
    }
  });
}

/**
 * Each job's resume point: its seq in the composite `Last-Event-ID` (mux-id.ts), else `since`
 * (an integer, for every job the id does not name), else -1. Two requested jobs whose keys
 * collide take nothing from the id (they start from `since`: repeats, never a loss).
 */
export function muxResumePoints(jobs: readonly JobRef[], lastEventId: string | undefined, since: string | undefined, maxJobs: number) {
  const fallback = resumePoint(undefined, since);
  const seqs = decodeMuxId(lastEventId ?? '', maxJobs);
  const named = muxJobs(jobs.map((job) => ({ job, since: -1 })));
  const keyCount = new Map<string, number>();
  for (const { key } of named) keyCount.set(key, (keyCount.get(key) ?? 0) + 1);
  return jobs.map((job, index): MuxRequest => {
    const { key } = named[index] as { key: string };
    const seq = keyCount.get(key) === 1 ? seqs.get(key) : undefined;
    return { job, since: seq ?? fallback };
  });
}

/**
 * `GET /v1/stream`'s request: its jobs, access to every one of them, and where each resumes. The
 * composite id comes in `Last-Event-ID` (an EventSource's reconnect) or, for a new EventSource
 * (which cannot send the header: a longer list of jobs), in `?last_event_id=`; the header wins.
 */
export async function multiplexRequest(c: Context, security: Security, profiles: readonly string[]): Promise<MuxRequest[]> {
  const jobs = parseStreamJobs(c.req.query('jobs'), profiles, security.maxStreamJobs);
  await requireJobsAccess(security, c, jobs);
  const lastEventId = c.req.header('Last-Event-ID')?.trim() || c.req.query('last_event_id');
  return muxResumePoints(jobs, lastEventId, c.req.query('since'), security.maxStreamJobs);
}
