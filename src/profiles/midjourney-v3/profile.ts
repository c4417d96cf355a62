/**
 * The Midjourney v3 job API as useapi.net defined it (discontinued 2026-06-24; compatible APIs
 * and the simulator still speak it): `POST /jobs/<verb>` answers the stream itself, events carry
 * their own `seq`, the job id comes from `initialized.jobId` or `job.jobid`, there is no resume,
 * and `GET /jobs/<id>` is the documented recovery (docs/profiles/midjourney-v3.md).
 */
import { type JobEvent, isRecord, parseJsonObject, seqProblem } from '../../core/ingest/event.ts';
import { type PollOutcome, type UpstreamProfile, type UpstreamReply, jobObjectPollOutcome } from '../../core/profile.ts';

/** The vendor's API, used when a token is configured and no URL is. */
export const MIDJOURNEY_VENDOR_URL = 'https://api.useapi.net/v3/midjourney';

/** Event names after which the job is over. */
const TERMINAL_EVENTS: ReadonlySet<string> = new Set([
  'midjourney_completed',
  'midjourney_failed',
  'midjourney_moderated',
  'midjourney_cancelled',
  'error',
]);

/** Job statuses after which the job is over. */
const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'moderated', 'cancelled']);

/** Wall-clock `HH:MM:SS.mmm` (UTC), the vendor's `ts` format. */
export function vendorTimestamp(date: Date): string {
  return date.toISOString().slice(11, 23);
}

/** Parses one `data:` payload of the vendor's stream; a reason string when it is not a valid event. */
export function parseMidjourneyEvent(data: string): JobEvent | string {
  const parsed = parseJsonObject(data);
  if (typeof parsed === 'string') return parsed;
  const { event, seq } = parsed;
  if (typeof event !== 'string' || event === '') return 'missing event name';
  const problem = seqProblem(seq);
  if (problem !== undefined) return problem;
  const job = isRecord(parsed.job) ? parsed.job : undefined;
  const jobId = typeof parsed.jobId === 'string' ? parsed.jobId : typeof job?.jobid === 'string' ? job.jobid : undefined;
  const result: JobEvent = { seq: seq as number, type: event, data, terminal: TERMINAL_EVENTS.has(event) };
  if (jobId !== undefined) result.jobId = jobId;
  if (job !== undefined) result.job = job;
  return result;
}

/** A job status seen by polling, as the vendor's `midjourney_<status>` event. */
function statusEvent(seq: number, job: Record<string, unknown>, now: Date): JobEvent {
  const status = typeof job.status === 'string' ? job.status : 'progress';
  const type = `midjourney_${status}`;
  const data = JSON.stringify({ event: type, job, seq, ts: vendorTimestamp(now) });
  const result: JobEvent = { seq, type, data, terminal: TERMINAL_STATUSES.has(status), job };
  if (typeof job.jobid === 'string') result.jobId = job.jobid;
  return result;
}

const pollOutcome = (reply: UpstreamReply): PollOutcome => jobObjectPollOutcome(reply, TERMINAL_STATUSES);

const job = (jobId: string) => `/jobs/${encodeURIComponent(jobId)}`;

/** The Midjourney v3 profile. */
export const midjourneyV3 = {
  name: 'midjourney-v3',
  authorization: (token) => ({ Authorization: `Bearer ${token}` }),
  // Always streamed upstream, whatever the caller asked: the relay follows every job to its end.
  createRequest: (verb, body) => ({
    method: 'POST',
    path: `/jobs/${encodeURIComponent(verb)}`,
    body: { ...body, stream: true },
    stream: true,
  }),
  toEvent: (message) => parseMidjourneyEvent(message.data),
  pollRequest: (jobId) => ({ method: 'GET', path: job(jobId) }),
  pollOutcome,
  statusKey(job) {
    const response = isRecord(job.response) ? job.response : undefined;
    return `${String(job.status)}|${String(response?.progress_percent)}|${String(job.updated)}`;
  },
  statusEvent,
  createdAt(job) {
    const at = typeof job.created === 'string' ? Date.parse(job.created) : Number.NaN;
    return Number.isFinite(at) ? at : undefined;
  },
  // The vendor's error event is undocumented beyond `{event, seq, ts, error}`: `jobId` names the job, as its `initialized` event does.
  terminalEvent(seq, reason, now, { jobId }) {
    const data = JSON.stringify({ event: 'error', jobId, seq, ts: vendorTimestamp(now), error: reason });
    return { seq, type: 'error', data, terminal: true, jobId };
  },
} satisfies UpstreamProfile;

/** The drop-in routes' own requests, not job operations the core needs: cancel a job (`DELETE /jobs/<id>`), list the account's (`GET /jobs`). */
export const cancelRequest = (jobId: string) => ({ method: 'DELETE' as const, path: job(jobId) });
export const listRequest = () => ({ method: 'GET' as const, path: '/jobs' });
