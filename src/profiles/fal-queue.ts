/**
 * fal.ai's queue API (notes: ../shared/upstream/fal-queue.md): `POST /<model id>` answers JSON
 * naming the request (`request_id`); its statuses (`IN_QUEUE`, `IN_PROGRESS`, `COMPLETED`, no
 * seq, no event names) come from `GET …/requests/<id>/status/stream`, reopened after a drop; the
 * result is fetched once at `COMPLETED` and stored with it. Status, result and cancel name
 * `owner/app` only, so a job id is `<owner>:<app>:<request id>`.
 */
import { type JobEvent, isRecord, parseJsonObject } from '../core/event.ts';
import type { PollOutcome, UpstreamProfile, UpstreamReply } from '../core/profile.ts';

/** fal's queue host, used when a key is configured and no URL is. */
export const FAL_QUEUE_VENDOR_URL = 'https://queue.fal.run';

/** Id prefixes that make an app id three segments long (`parseEndpointId` in `@fal-ai/client`). */
const NAMESPACES: ReadonlySet<string> = new Set(['workflows', 'comfy']);

/** Segments of a model id: what fal's paths allow and a job id can carry (no `:`, no `~`). */
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** The `owner/app` part of a model id (`fal-ai/flux/dev` → `fal-ai/flux`); undefined when it is not one. */
export function appIdOf(endpoint: string): string | undefined {
  const segments = endpoint.split('/');
  if (!segments.every((segment) => SEGMENT.test(segment))) return undefined;
  const length = NAMESPACES.has(segments[0] ?? '') ? 3 : 2;
  return segments.length < length ? undefined : segments.slice(0, length).join('/');
}

/** The job id of a request of an app: `<owner>:<app>:<request id>`. */
export const falJobId = (appId: string, requestId: string) => `${appId.replaceAll('/', ':')}:${requestId}`;

/** Splits a job id back into its app and the vendor's request id. */
export function splitFalJobId(jobId: string): { appId: string; requestId: string } {
  const parts = jobId.split(':');
  const requestId = parts.pop() ?? '';
  return { appId: parts.join('/'), requestId };
}

/** `/<owner>/<app>/requests/<id>`, the result path; status and cancel hang below it. */
export function requestPath(jobId: string): string {
  const { appId, requestId } = splitFalJobId(jobId);
  return `/${appId}/requests/${encodeURIComponent(requestId)}`;
}

/** The URL fields every status object carries; stored events name fal's own host, never the endpoint they came from. */
const URL_FIELDS = ['response_url', 'status_url', 'cancel_url'] as const;

/** A status object's URLs rebased on `base` (`<base>/<owner>/<app>/requests/<id>[/status|/cancel]`). */
export function withQueueUrls(status: Record<string, unknown>, base: string, jobId: string): Record<string, unknown> {
  const response = `${base}${requestPath(jobId)}`;
  return { ...status, response_url: response, status_url: `${response}/status`, cancel_url: `${response}/cancel` };
}

/** A status's URLs on fal's host, read from the URLs themselves (`…/<owner>/<app>/requests/<id>…`). */
function canonicalUrls(status: Record<string, unknown>): Record<string, unknown> {
  const url = typeof status.response_url === 'string' ? status.response_url : undefined;
  const match = url ? /\/([^/]+)\/([^/]+)\/requests\/([^/?#]+)/.exec(url) : null;
  if (!match) {
    const stripped = { ...status };
    for (const field of URL_FIELDS) delete stripped[field];
    return stripped;
  }
  const [, owner = '', app = '', requestId = ''] = match;
  return withQueueUrls(status, FAL_QUEUE_VENDOR_URL, falJobId(`${owner}/${app}`, decodeURIComponent(requestId)));
}

/** A status object as an event: its `status` as the type, terminal at `COMPLETED`, the whole object as the snapshot. */
function statusEvent(seq: number, status: Record<string, unknown>): JobEvent {
  const job = canonicalUrls(status);
  const type = String(job.status);
  return { seq, type, data: JSON.stringify(job), terminal: type === 'COMPLETED', job };
}

/** Parses one status of the stream (or the snapshot stored from one); a reason when it is not a status object. */
export function parseFalStatus(data: string, seq: number): JobEvent | string {
  const parsed = parseJsonObject(data);
  if (typeof parsed === 'string') return parsed;
  if (typeof parsed.status !== 'string' || parsed.status === '') return 'missing status';
  if (parsed.request_id !== undefined && typeof parsed.request_id !== 'string') return 'request_id is not a string';
  return statusEvent(seq, parsed);
}

function pollOutcome(reply: UpstreamReply): PollOutcome {
  const { status, body } = reply;
  if ((status === 200 || status === 202) && isRecord(body) && typeof body.status === 'string') {
    return { kind: 'status', job: body, terminal: body.status === 'COMPLETED' };
  }
  if (status === 404 || status === 410) return { kind: 'gone' };
  return { kind: 'retry' };
}

/** Log events carry their new lines only: the last line tells one IN_PROGRESS status from the next. */
function statusKey(job: Record<string, unknown>): string {
  const logs = Array.isArray(job.logs) ? job.logs : [];
  return `${String(job.status)}|${String(job.queue_position)}|${JSON.stringify(logs.at(-1) ?? null)}`;
}

/**
 * A reopened stream starts with the current status and every log line so far: keeps only the
 * lines after the last stored one; a non-terminal status with nothing new is dropped.
 */
function unseenPart(event: JobEvent, lastKey: string): JobEvent | undefined {
  const { job } = event;
  if (!job || lastKey === '') return event;
  if (!event.terminal && statusKey(job) === lastKey) return undefined;
  const lastLog = lastKey.slice(lastKey.indexOf('|', lastKey.indexOf('|') + 1) + 1);
  const logs = Array.isArray(job.logs) ? job.logs : [];
  const seen = lastLog === 'null' ? -1 : logs.findIndex((line) => JSON.stringify(line) === lastLog);
  if (seen < 0) return event;
  const trimmed = { ...job, logs: logs.slice(seen + 1) };
  return { ...event, data: JSON.stringify(trimmed), job: trimmed };
}

/** The stored result of a completed request: the model's status and body, as the result call answered. */
export interface StoredResult {
  status: number;
  body: unknown;
}

/** The result kept in a stored `COMPLETED` status (under `result`), if it has one. */
export function storedResult(job: Record<string, unknown>): StoredResult | undefined {
  const { result } = job;
  if (!isRecord(result) || typeof result.status !== 'number') return undefined;
  return { status: result.status, body: result.body };
}

/** The fal queue profile. */
export const falQueue = {
  name: 'fal-queue',
  authorization: (key) => ({ Authorization: `Key ${key}` }),
  createRequest: (endpoint, body) => ({ method: 'POST', path: `/${endpoint}`, body }),
  startedJobId(reply, endpoint) {
    const appId = appIdOf(endpoint);
    const { body } = reply;
    if (reply.status !== 200 || appId === undefined || !isRecord(body) || typeof body.request_id !== 'string') return undefined;
    return falJobId(appId, body.request_id);
  },
  streamRequest: (jobId) => ({ method: 'GET', path: `${requestPath(jobId)}/status/stream?logs=1`, stream: true }),
  toEvent: (message, nextSeq) => parseFalStatus(message.data, nextSeq),
  unseenPart,
  pollRequest: (jobId) => ({ method: 'GET', path: `${requestPath(jobId)}/status?logs=1` }),
  pollOutcome,
  statusKey,
  statusEvent: (seq, job) => statusEvent(seq, job),
  createdAt: () => undefined,
  // fal has no failed status: a request that went wrong ends COMPLETED with an `error`.
  // It carries its job object, so status polls and the result call see the job over too.
  // It names the request and its URLs (on fal's host, as every stored status), as fal's own statuses do.
  terminalEvent(seq, reason, _now, { jobId }) {
    const named = { status: 'COMPLETED', request_id: splitFalJobId(jobId).requestId, logs: [], error: reason, error_type: 'relay_gave_up' };
    const job = withQueueUrls(named, FAL_QUEUE_VENDOR_URL, jobId);
    return { seq, type: 'COMPLETED', data: JSON.stringify(job), terminal: true, job };
  },
  resultRequest: (jobId) => ({ method: 'GET', path: requestPath(jobId) }),
  withResult(terminal, result) {
    const job = {
      ...(terminal.job ?? (JSON.parse(terminal.data) as Record<string, unknown>)),
      result: { status: result.status, body: result.body },
    };
    return { ...terminal, data: JSON.stringify(job), job };
  },
  cancelRequest: (jobId) => ({ method: 'PUT', path: `${requestPath(jobId)}/cancel` }),
  // The client reads statuses only: no gap notices; it never resumes, so no 204 either.
  dropInFrames: { noGapFrames: true, emptyWhenFinished: true },
} satisfies UpstreamProfile;
