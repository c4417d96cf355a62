/**
 * fal.ai's queue API (docs/profiles/fal-queue.md): `POST /<model id>` answers JSON
 * naming the request (`request_id`); its statuses (`IN_QUEUE`, `IN_PROGRESS`, `COMPLETED`, no
 * seq, no event names) come from `GET …/requests/<id>/status/stream`, reopened after a drop; the
 * result is fetched once at `COMPLETED` and stored with it. Status, result and cancel name
 * `owner/app` only, so a job id is `<owner>:<app>:<request id>`.
 */
import { type JobEvent, isRecord, parseJsonObject } from '../../core/ingest/event.ts';
import type { PollOutcome, UpstreamProfile, UpstreamReply } from '../../core/profile.ts';

/**
 * The data of the event ending a status stream the gateway cuts short (drain, the Worker's
 * `MAX_STREAM_MS` cut). fal has no error event and `@fal-ai/client` ignores event names and
 * `error` fields, but it rejects on data that is not JSON: so this is plain text, and `done()` and
 * a streaming `subscribe` reject (`SyntaxError: … "stream cut"…`) instead of taking the last running
 * status for the end. It starts with the words the client's message quotes.
 */
export const FAL_EARLY_END =
  'stream cut: the gateway ended this status stream before COMPLETED; the request goes on: open the stream again or poll its status_url';

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

const logsOf = (job: Record<string, unknown>): unknown[] => (Array.isArray(job.logs) ? job.logs : []);

/** The last line tells one IN_PROGRESS status from the next. */
function statusKey(job: Record<string, unknown>): string {
  return `${String(job.status)}|${String(job.queue_position)}|${JSON.stringify(logsOf(job).at(-1) ?? null)}`;
}

/** Log lines a stored status keeps (the newest), so polls answer every line of all but the chattiest requests, in bounded space. */
export const KEPT_LOG_LINES = 1000;
/** Characters of log lines (as JSON) a stored status keeps at most: a few huge lines cannot bloat it either. */
export const KEPT_LOG_CHARS = 256 * 1024;

/** The newest lines of `lines` within KEPT_LOG_LINES and KEPT_LOG_CHARS. */
function newest(lines: unknown[]): unknown[] {
  let chars = 0;
  let from = lines.length;
  while (from > 0 && lines.length - from < KEPT_LOG_LINES) {
    chars += JSON.stringify(lines[from - 1]).length + 1;
    if (chars > KEPT_LOG_CHARS) break;
    from--;
  }
  return from === 0 ? lines : lines.slice(from);
}

/** The lines of `logs` after the last of `before` (all of them when it is not among them: a live event names only its new lines). */
function linesAfter(before: unknown[], logs: unknown[]): unknown[] {
  if (before.length === 0) return logs;
  const last = JSON.stringify(before.at(-1));
  for (let i = logs.length - 1; i >= 0; i--) if (JSON.stringify(logs[i]) === last) return logs.slice(i + 1);
  return logs;
}

/**
 * fal polls answer every log line so far, stream events their new lines only, and a reopened
 * stream starts with all of them: the stored event's data keeps the lines after the last stored
 * one, its snapshot every line so far (the newest, see KEPT_LOG_LINES); a non-terminal status
 * with nothing new is dropped.
 */
function unseenPart(event: JobEvent, last: Record<string, unknown> | undefined): JobEvent | undefined {
  const { job } = event;
  if (!job) return event;
  const logs = logsOf(job);
  const before = last ? logsOf(last) : [];
  const fresh = linesAfter(before, logs);
  const kept = newest(before.length === 0 ? fresh : [...before, ...fresh]);
  const snapshot = 'logs' in job || kept.length > 0 ? { ...job, logs: kept } : job;
  if (last && !event.terminal && statusKey(snapshot) === statusKey(last)) return undefined;
  const data = fresh === logs ? event.data : JSON.stringify({ ...job, logs: fresh });
  if (kept === logs) return data === event.data ? event : { ...event, data };
  return { ...event, data, job: snapshot, snapshot: JSON.stringify(snapshot) };
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
    const stored = { result: { status: result.status, body: result.body } };
    const data = { ...(JSON.parse(terminal.data) as Record<string, unknown>), ...stored };
    if (terminal.snapshot === undefined) return { ...terminal, data: JSON.stringify(data), job: data };
    // The snapshot keeps every log line, the data only the new ones: both get the result.
    const job = { ...(terminal.job ?? (JSON.parse(terminal.snapshot) as Record<string, unknown>)), ...stored };
    return { ...terminal, data: JSON.stringify(data), job, snapshot: JSON.stringify(job) };
  },
  // The client reads statuses only: no gap notices; it never resumes, so no 204 either; a stream
  // cut short ends with data it rejects on, never a clean close after a running status.
  dropInFrames: { noGapFrames: true, emptyWhenFinished: true, earlyEnd: () => FAL_EARLY_END },
} satisfies UpstreamProfile;

/** The `PUT …/requests/<id>/cancel` request (the drop-in route's, not a job operation the core needs). */
export const cancelRequest = (jobId: string) => ({ method: 'PUT' as const, path: `${requestPath(jobId)}/cancel` });
