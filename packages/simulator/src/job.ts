import { fnv1a } from './hash.ts';
import type { Verb } from './verbs.ts';

/** Job states; `cancelled` only follows a DELETE. */
export type JobStatus = 'created' | 'started' | 'progress' | 'completed' | 'failed' | 'moderated' | 'cancelled';

/** One rendered file of a finished job. */
export interface Attachment {
  url: string;
  filename: string;
  width: number;
  height: number;
  content_type: string;
}

/** The `response` part of a job object. */
export interface JobResponse {
  content?: string;
  progress_percent?: number;
  attachments?: Attachment[];
  imageUx?: Array<{ id: number; url: string }>;
  buttons?: string[];
}

/** The vendor's job object, as GET /jobs/<jobid> and the lifecycle events carry it. */
export interface Job {
  jobid: string;
  verb: Verb;
  jobType: 'image';
  status: JobStatus;
  created: string;
  updated: string;
  request: Record<string, unknown>;
  response?: JobResponse;
  error?: string;
  errorDetails?: string;
}

/** The fields a state change may set. */
export type JobChange = Partial<Pick<Job, 'status' | 'response' | 'error'>>;

const USER_ID = '12345';

/** A vendor-shaped job id, e.g. `j1125120112345678901i-u12345-c1234567890123456789-bot:midjourney`. */
export function createJobId(channel: string, at: number, serial: number): string {
  const date = new Date(at);
  const stamp = [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    .map((part) => String(part).padStart(2, '0'))
    .join('');
  const serialDigits = String(serial % 1e9).padStart(9, '0');
  return `j${stamp}${serialDigits}i-u${USER_ID}-c${channelId(channel)}-bot:midjourney`;
}

/** A job id reduced to characters that are safe in a URL path segment. */
export function safeJobId(jobid: string): string {
  return jobid.replace(/[^A-Za-z0-9_-]/g, '-');
}

/** A new job in status `created`; `errorDetails` is only set by `--sim-echo-token`. */
export function createJob(init: { jobid: string; verb: Verb; request: Record<string, unknown>; at: number; errorDetails?: string }): Job {
  const time = new Date(init.at).toISOString();
  const job: Job = {
    jobid: init.jobid,
    verb: init.verb,
    jobType: 'image',
    status: 'created',
    created: time,
    updated: time,
    request: init.request,
  };
  if (init.errorDetails !== undefined) job.errorDetails = init.errorDetails;
  return job;
}

/** The job after a state change at `at`, rebuilt so its JSON keys keep the vendor's order. */
export function changeJob(job: Job, change: JobChange, at: number): Job {
  const next = { ...job, ...change };
  const out: Job = {
    jobid: next.jobid,
    verb: next.verb,
    jobType: next.jobType,
    status: next.status,
    created: next.created,
    updated: new Date(at).toISOString(),
    request: next.request,
  };
  if (next.response !== undefined) out.response = next.response;
  if (next.error !== undefined) out.error = next.error;
  if (next.errorDetails !== undefined) out.errorDetails = next.errorDetails;
  return out;
}

/** The Discord user mention the vendor puts in `response.content`. */
export function userMention(): string {
  return `<@${USER_ID}>`;
}

function channelId(channel: string): string {
  const digits = String(fnv1a(channel)).padStart(10, '0') + String(fnv1a(`${channel}#`)).padStart(10, '0');
  return `1${digits.slice(0, 18)}`;
}
