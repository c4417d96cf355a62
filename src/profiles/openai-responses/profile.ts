/**
 * OpenAI's Responses API in background mode (docs/profiles/openai-responses.md):
 * `POST /responses` with `background`, `stream` and `store` on answers the event stream itself;
 * every event names its `type` (also its `event:` line) and carries a `sequence_number`; the
 * response id (`resp_…`) is in the `response` object of the lifecycle events; a broken stream is
 * resumed with `GET /responses/<id>?stream=true&starting_after=N` while the vendor allows it
 * (about 5 minutes), else `GET /responses/<id>` is polled.
 */
import { type JobEvent, isRecord, parseJsonObject, seqProblem } from '../../core/ingest/event.ts';
import {
  type FrameStyle,
  type KnownJob,
  type PollOutcome,
  type UpstreamProfile,
  type UpstreamReply,
  jobObjectPollOutcome,
} from '../../core/profile.ts';

/** The vendor's API, used when a key is configured and no URL is. */
export const OPENAI_VENDOR_URL = 'https://api.openai.com/v1';

/** The one job kind: `POST /responses`. */
export const OPENAI_KIND = 'responses';

/** Event types after which the response is over (a cancelled one ends with `response.failed`, status `cancelled`). */
const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['response.completed', 'response.failed', 'response.incomplete']);

/** Response statuses after which the response is over. */
const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled', 'incomplete']);

/** Parses one `data:` payload of the vendor's stream; a reason string when it is not a valid event. */
export function parseOpenAIEvent(data: string): JobEvent | string {
  const parsed = parseJsonObject(data);
  if (typeof parsed === 'string') return parsed;
  const { type, sequence_number: seq } = parsed;
  if (typeof type !== 'string' || type === '') return 'missing type';
  const problem = seqProblem(seq);
  if (problem !== undefined) return problem;
  const response = isRecord(parsed.response) ? parsed.response : undefined;
  const result: JobEvent = { seq: seq as number, type, data, terminal: TERMINAL_EVENTS.has(type) };
  if (response !== undefined) {
    result.job = response;
    if (typeof response.id === 'string') result.jobId = response.id;
  }
  return result;
}

/** The event a polled response object stands for: `response.<status>`; cancelled as `response.failed` (the stream events have no `response.cancelled`). */
function statusEventType(status: string): string {
  if (status === 'cancelled') return 'response.failed';
  return `response.${status}`;
}

function statusEvent(seq: number, job: Record<string, unknown>): JobEvent {
  const status = typeof job.status === 'string' ? job.status : 'in_progress';
  const type = statusEventType(status);
  const data = JSON.stringify({ type, sequence_number: seq, response: job });
  const result: JobEvent = { seq, type, data, terminal: TERMINAL_STATUSES.has(status), job };
  if (typeof job.id === 'string') result.jobId = job.id;
  return result;
}

/**
 * The `response.failed` the relay synthesizes (deadline, response lost upstream): the response
 * as last known (its id, model, echoed fields and output so far) with `status: "failed"` and an
 * `error` of `code`/`message` only, as the vendor's failed event carries it.
 */
function failedEvent(seq: number, reason: string, now: Date, known: KnownJob): JobEvent {
  const last = known.last ?? {};
  const response: Record<string, unknown> = {
    ...last,
    id: known.jobId,
    object: 'response',
    created_at: typeof last.created_at === 'number' ? last.created_at : Math.floor(now.getTime() / 1000),
    model: typeof last.model === 'string' ? last.model : null,
    status: 'failed',
    completed_at: null,
    error: { code: 'server_error', message: reason },
    incomplete_details: null,
    output: Array.isArray(last.output) ? last.output : [],
    usage: last.usage ?? null,
  };
  const data = JSON.stringify({ type: 'response.failed', sequence_number: seq, response });
  return { seq, type: 'response.failed', data, terminal: true, jobId: known.jobId, job: response };
}

const pollOutcome = (reply: UpstreamReply): PollOutcome => jobObjectPollOutcome(reply, TERMINAL_STATUSES);

/** The `type` of a stored event's JSON, cheaply: the vendor (and the relay) writes it first. */
export function eventType(data: string): string | undefined {
  const leading = /^\{"type":"([A-Za-z0-9_.]+)"/.exec(data);
  if (leading) return leading[1];
  try {
    const parsed: unknown = JSON.parse(data);
    return isRecord(parsed) && typeof parsed.type === 'string' ? parsed.type : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `error` event ending a stream the gateway cuts short (drain, shutdown), in the nested form
 * first-party streams use: the SDK throws on it instead of taking the partial answer
 * for a finished one, and the caller resumes with `starting_after`.
 */
export function earlyEndEvent(lastSeq: number): string {
  const message = `The gateway ended this stream before the response finished; resume it with starting_after=${lastSeq}.`;
  return JSON.stringify({
    type: 'error',
    sequence_number: lastSeq + 1,
    error: { type: 'server_error', code: 'stream_interrupted', message, param: null },
  });
}

/** The SDK's needs on the drop-in paths: `event:` names, only the vendor's events, no 204, no clean early close. */
const DROP_IN_FRAMES: FrameStyle = { eventName: eventType, noGapFrames: true, emptyWhenFinished: true, earlyEnd: earlyEndEvent };

const response = (id: string) => `/responses/${encodeURIComponent(id)}`;

/** The OpenAI Responses (background mode) profile. */
export const openaiResponses = {
  name: 'openai-responses',
  authorization: (key) => ({ Authorization: `Bearer ${key}` }),
  // Always background, streamed and stored upstream, whatever the caller asked: the relay follows every response to its end.
  createRequest: (_kind, body) => ({
    method: 'POST',
    path: '/responses',
    body: { ...body, background: true, stream: true, store: true },
    stream: true,
  }),
  toEvent: (message) => parseOpenAIEvent(message.data),
  resumeRequest: (id, afterSeq) => ({
    method: 'GET',
    path: afterSeq < 0 ? `${response(id)}?stream=true` : `${response(id)}?stream=true&starting_after=${afterSeq}`,
    stream: true,
  }),
  pollRequest: (id) => ({ method: 'GET', path: response(id) }),
  pollOutcome,
  statusKey: (job) => String(job.status),
  statusEvent: (seq, job) => statusEvent(seq, job),
  createdAt(job) {
    return typeof job.created_at === 'number' && Number.isFinite(job.created_at) ? job.created_at * 1000 : undefined;
  },
  terminalEvent: (seq, reason, now, known) => failedEvent(seq, reason, now, known),
  dropInFrames: DROP_IN_FRAMES,
} satisfies UpstreamProfile;

/** The `POST /responses/<id>/cancel` request (the drop-in route's, not a job operation the core needs). */
export const cancelRequest = (id: string) => ({ method: 'POST' as const, path: `${response(id)}/cancel` });

/** The `DELETE /responses/<id>` request (not a job operation the core needs). */
export const deleteRequest = (id: string) => ({ method: 'DELETE' as const, path: response(id) });
