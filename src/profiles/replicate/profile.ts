/**
 * Replicate's predictions API (docs/profiles/replicate.md): a create answers the prediction as
 * JSON (stored as the job's first event); models that stream name their stream in `urls.stream`,
 * whose `output`, `logs`, `error` and `done` events carry no sequence number (their `id:` is
 * `<seconds>:<n>`), so the gateway numbers them. Its stream takes no `Last-Event-ID` (neither its
 * docs nor its clients resume one), so a dropped stream is not reopened: the prediction is polled
 * (`GET /predictions/<id>`) to its end, as are models without a stream. The final prediction is
 * fetched once at the end and kept with the history (Replicate drops its data an hour later).
 */
import { type JobEvent, isRecord, parseJsonObject } from '../../core/ingest/event.ts';
import { type UpstreamProfile, type UpstreamReply, type UpstreamRequest, jobObjectPollOutcome } from '../../core/profile.ts';
import { STREAM_EVENTS, TERMINAL_STATUSES, streamBetween, vendorEventsOf, withoutUrls } from './events.ts';

/** Replicate's API, used when a token is configured and no URL is. */
export const REPLICATE_VENDOR_URL = 'https://api.replicate.com/v1';

/** Replicate's streaming hosts: `urls.stream` names one of them (the token goes there only past Replicate's own API). */
export const REPLICATE_STREAM_ORIGINS: readonly string[] = ['https://streaming.api.replicate.com', 'https://stream.replicate.com'];

/** The job kind of a create by version (`POST /predictions`); a model's is `models/<owner>/<name>`. */
export const BY_VERSION = 'predictions';

const prediction = (id: string) => `/predictions/${encodeURIComponent(id)}`;

const outputCount = (job: Record<string, unknown>) =>
  Array.isArray(job.output) ? job.output.length : job.output === null || job.output === undefined ? 0 : JSON.stringify(job.output).length;
const logsOf = (job: Record<string, unknown>) => (typeof job.logs === 'string' ? job.logs : '');

/** A prediction's status change as an event after `last`: the prediction, and what the vendor's stream would have said of it (`stream`). */
function statusChange(
  seq: number,
  job: Record<string, unknown>,
  last: Record<string, unknown> | undefined,
  stream = streamBetween(job, last),
): JobEvent {
  const data = JSON.stringify({ event: 'status', prediction: withoutUrls(job), stream });
  return { seq, type: 'status', data, terminal: TERMINAL_STATUSES.has(String(job.status)), job, snapshot: JSON.stringify(job) };
}

/**
 * One message of the stream (named `output`, `logs`, `error` or `done`), or, unnamed, a job object
 * the gateway stored (a prediction, the snapshot; a status envelope); a reason when it is neither.
 */
export function parseReplicateMessage(data: string, event: string | undefined, seq: number): JobEvent | string {
  if (event !== undefined) {
    if (!STREAM_EVENTS.has(event)) return `unknown event ${event}`;
    return { seq, type: event, data: JSON.stringify({ event, data }), terminal: event === 'done' };
  }
  const parsed = parseJsonObject(data);
  if (typeof parsed === 'string') return parsed;
  if (parsed.event === 'status' && isRecord(parsed.prediction))
    return { seq, type: 'status', data, terminal: false, job: parsed.prediction };
  if (typeof parsed.id !== 'string' || typeof parsed.status !== 'string') return 'not a prediction';
  return { seq, type: 'status', data, terminal: false, job: parsed };
}

/** A streamed event's effect on the prediction as last known (the snapshot `GET /predictions/<id>` answers while it runs). */
function streamedPrediction(event: JobEvent, last: Record<string, unknown>): Record<string, unknown> {
  const { data } = JSON.parse(event.data) as { data: string };
  const running = last.status === 'starting' || last.status === undefined ? 'processing' : last.status;
  if (event.type === 'output') return { ...last, status: 'processing', output: [...(Array.isArray(last.output) ? last.output : []), data] };
  if (event.type === 'logs') return { ...last, status: running, logs: `${logsOf(last)}${data}\n` };
  const body = parseJsonObject(data);
  const fields = typeof body === 'string' ? {} : body;
  if (event.type === 'error') return { ...last, error: typeof fields.detail === 'string' ? fields.detail : data };
  const reason = fields.reason;
  const status = reason === undefined || reason === '' ? 'succeeded' : reason === 'error' ? 'failed' : String(reason);
  return { ...last, status };
}

/**
 * The event to store: a streamed one with the prediction as it now stands (its snapshot); a status
 * change with what is new since `last` (none and no new status: undefined, not stored).
 */
function unseenPart(event: JobEvent, last: Record<string, unknown> | undefined): JobEvent | undefined {
  if (event.type !== 'status') {
    const job = streamedPrediction(event, last ?? {});
    return { ...event, job, snapshot: JSON.stringify(job) };
  }
  const job = event.job;
  if (!job) return event;
  const stream = streamBetween(job, last);
  if (last && stream.length === 0 && last.status === job.status && !TERMINAL_STATUSES.has(String(job.status))) return undefined;
  return statusChange(event.seq, job, last, stream);
}

/** The final prediction fetched once it ended (its output, logs, metrics), kept with the terminal event. */
function withResult(terminal: JobEvent, result: UpstreamReply): JobEvent {
  const ended = terminal.job ?? {};
  // An answer whose data Replicate already removed (`data_removed`) adds nothing to what is known.
  const fetched = result.status === 200 && isRecord(result.body) && result.body.data_removed !== true ? result.body : undefined;
  let job = ended;
  if (fetched)
    job = TERMINAL_STATUSES.has(String(fetched.status)) ? fetched : { ...fetched, status: ended.status, error: ended.error ?? null };
  const envelope = JSON.parse(terminal.data) as Record<string, unknown>;
  const data = JSON.stringify({ ...envelope, prediction: withoutUrls(job) });
  return { ...terminal, data, job, snapshot: JSON.stringify(job) };
}

/**
 * The stream request of a prediction's `urls.stream`, while nothing but its first state is stored
 * and it has made nothing yet (no output, no logs: a stream read now cannot repeat what is stored).
 */
function streamRequest(_jobId: string, from?: { lastSeq: number; last?: Record<string, unknown> }): UpstreamRequest | undefined {
  const last = from?.last;
  const urls = last?.urls;
  if (!from || !last || from.lastSeq > 0 || outputCount(last) > 0 || logsOf(last) !== '') return undefined;
  if (!isRecord(urls) || typeof urls.stream !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(urls.stream);
  } catch {
    return undefined;
  }
  return { method: 'GET', origin: url.origin, path: `${url.pathname}${url.search}`, stream: true };
}

/** The error a subscriber gets when the gateway ends its stream before `done` (drain): the client throws on it instead of taking a clean close for the end. */
export const EARLY_END_DETAIL =
  'stream cut: the gateway ended this stream before the prediction finished; get the prediction or open urls.stream again';

/** The Replicate profile. */
export const replicate = {
  name: 'replicate',
  authorization: (token) => ({ Authorization: `Bearer ${token}` }),
  createRequest: (kind, body) => ({ method: 'POST', path: kind === BY_VERSION ? '/predictions' : `/${kind}/predictions`, body }),
  startedJobId(reply) {
    const { body } = reply;
    return (reply.status === 201 || reply.status === 200) && isRecord(body) && typeof body.id === 'string' ? body.id : undefined;
  },
  startedEvent: (reply) => (isRecord(reply.body) ? statusChange(0, reply.body, undefined) : undefined),
  streamRequest,
  toEvent: (message, nextSeq) => parseReplicateMessage(message.data, message.event, nextSeq),
  unseenPart,
  pollRequest: (id) => ({ method: 'GET', path: prediction(id) }),
  pollOutcome: (reply) => jobObjectPollOutcome(reply, TERMINAL_STATUSES),
  statusKey: (job) => `${String(job.status)}|${outputCount(job)}|${logsOf(job).length}`,
  statusEvent: (seq, job) => statusChange(seq, job, undefined),
  createdAt(job) {
    const at = typeof job.created_at === 'string' ? Date.parse(job.created_at) : Number.NaN;
    return Number.isFinite(at) ? at : undefined;
  },
  // A failed prediction as Replicate ends one, naming it and keeping what it had (output so far, logs).
  terminalEvent(seq, reason, now, known) {
    const job = { ...(known.last ?? {}), id: known.jobId, status: 'failed', error: reason, completed_at: now.toISOString() };
    return statusChange(seq, job, known.last);
  },
  resultRequest: (id) => ({ method: 'GET', path: prediction(id) }),
  withResult,
  // Replicate's clients know its four events only: no gap frames, no 204 (they never resume), an `error` when cut short.
  dropInFrames: {
    vendorEvents: vendorEventsOf,
    noGapFrames: true,
    emptyWhenFinished: true,
    earlyEnd: () => JSON.stringify({ detail: EARLY_END_DETAIL }),
  },
} satisfies UpstreamProfile;

/** `POST /predictions/<id>/cancel` (the drop-in route's, not a job operation the core needs). */
export const cancelRequest = (id: string) => ({ method: 'POST' as const, path: `${prediction(id)}/cancel` });
