/**
 * An upstream profile: everything the relay needs to know about one vendor's job API, and
 * nothing else, grouped by phase (start, ingest, recovery, frames). The core, the hub, the bus
 * and the runtimes work through these interfaces only, each caller through the phase it needs;
 * each vendor is a folder in `src/profiles/`. Members marked optional exist for vendors that
 * need them (the comment says which); a profile leaves out what its vendor does not do.
 */
import { type JobEvent, isRecord } from './ingest/event.ts';

/** One call to the vendor, relative to the profile's base URL; the client adds the credential. */
export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, already URL-encoded, starting with `/`. */
  path: string;
  /**
   * fal: another of the vendor's hosts (`https://fal.run`, `https://rest.fal.ai`) instead of the
   * endpoint's base URL, for the proxy's targets outside the queue; the routes allow only the vendor's own.
   */
  origin?: string;
  /** A JSON body. */
  body?: unknown;
  /** The answer is expected to be SSE (no timeout, `Accept: text/event-stream`). */
  stream?: boolean;
}

/** A non-streaming upstream answer, already parsed and redacted. */
export interface UpstreamReply {
  status: number;
  body: unknown;
}

/** One SSE message as the vendor framed it, already redacted. */
export interface VendorMessage {
  data: string;
  /** The `event:` field (OpenAI names every event; Midjourney and fal send none). */
  event?: string;
}

/** What a status poll found. */
export type PollOutcome =
  /** The vendor's job object now; `terminal` when its status ends the job. */
  | { kind: 'status'; job: Record<string, unknown>; terminal: boolean }
  /** The vendor no longer knows the job (404, 410): the relay ends it with a synthesized terminal. */
  | { kind: 'gone' }
  /** No usable answer (5xx, a network error): try again later. */
  | { kind: 'retry' };

/** What the relay knows of a job when it synthesizes its terminal event. */
export interface KnownJob {
  /** The job's id, as the relay keys it (the vendor's id; fal: `<owner>:<app>:<request id>`). */
  jobId: string;
  /** The job object of the newest stored event that carried one (the snapshot), if any. */
  last?: Record<string, unknown>;
}

/** How a subscription's frames look; the uniform path uses the default (all fields unset). */
export interface FrameStyle {
  /** The `event:` name of a stored event's frame (OpenAI's drop-in: its `type`); undefined: none, `onmessage` sees it. */
  eventName?(data: string): string | undefined;
  /** The `data:` of a stored event's frame (published jobs: the publisher's `data` out of the stored envelope); undefined: the stored data. */
  frameData?(data: string): string;
  /** true: history trimmed or lost is skipped silently instead of announced by an `event: gap` frame (OpenAI's SDK knows only the vendor's events). */
  noGapFrames?: boolean;
  /** true: a client that already has the terminal event gets an empty 200 stream, not 204 (OpenAI's SDK throws on 204). */
  emptyWhenFinished?: boolean;
  /**
   * The data of the event a subscriber gets when the gateway ends its stream before the terminal
   * event (drain, shutdown), named by `eventName`; a subscriber that cannot take it (dropped as too
   * slow) has its connection aborted instead. Undefined: a plain close. OpenAI: an `error` event,
   * as its SDK takes a clean close for a finished answer. `lastSeq`: the last event the stream sent.
   */
  earlyEnd?(lastSeq: number): string;
  /**
   * The vendor's own events a stored event stands for, each framed with the event's seq as `id:`
   * (Replicate's drop-in: `output`, `logs`, `error`, `done` out of the stored envelope, none for a
   * status change its stream never sends). Set, it replaces `eventName` for stored events.
   */
  vendorEvents?(data: string): readonly { event: string; data: string }[];
}

/**
 * Starting a job: how the vendor is called, what starts a job and, where the create does not
 * answer the stream itself, how the job's id and its stream are found. Used by the upstream
 * client, the create and the follower's first stream.
 */
export interface ProfileStart {
  /** The credential's header (Midjourney, OpenAI: `Authorization: Bearer`; fal: `Authorization: Key`). */
  authorization(credential: string): Record<string, string>;

  /**
   * The request that starts a job of `kind` (Midjourney: the verb; OpenAI: `responses`; fal: the
   * model id) with the caller's already-validated body. Midjourney and OpenAI ask for the stream
   * here (`stream:true`; OpenAI also `background`, `store`), so the create answers with it.
   */
  createRequest(kind: string, body: Record<string, unknown>): UpstreamRequest;

  /**
   * fal: the create answers JSON naming the job (`request_id`), its events come from a stream
   * opened separately with `streamRequest`. Returns the id, or undefined when the reply is a
   * rejection. `kind` is the create's (fal: the model id, whose `owner/app` the job id keeps, as
   * fal's status and result paths need it). Left out by vendors whose create answers the stream (Midjourney, OpenAI).
   */
  startedJobId?(reply: UpstreamReply, kind: string): string | undefined;
  /**
   * Replicate: the create's answer as the job's first event (seq 0, the prediction as created: its
   * id, input and URLs), stored before its stream is opened. Left out by vendors whose stream says it all.
   */
  startedEvent?(reply: UpstreamReply): JobEvent | undefined;
  /**
   * fal: the request that opens a job's event stream (`GET …/status/stream?logs=1`), after the
   * create and again after a drop (events of a reopened stream get the next gateway seqs).
   * `from`: what is stored of the job (Replicate reads its stream URL from the prediction, and opens
   * it only while nothing but the create's answer is stored). Undefined: no stream to open, poll.
   */
  streamRequest?(jobId: string, from?: StreamFrom): UpstreamRequest | undefined;
}

/** What is stored of a job when its stream is (re)opened. */
export interface StreamFrom {
  /** The last stored seq (-1: none). */
  lastSeq: number;
  /** The job object of the newest stored event that carried one, if any. */
  last?: Record<string, unknown>;
}

/** Ingesting: each vendor message becomes an event to store. Used by the stream reader, the poller and the create's first event. */
export interface ProfileIngest {
  /**
   * Maps one vendor message to an event: its job id (Midjourney `jobId`/`job.jobid`, OpenAI
   * `response.id`; fal names it in the create), its seq (Midjourney `seq`, OpenAI
   * `sequence_number`; fal numbers none, so it takes `nextSeq`, the gateway's number), whether it
   * is terminal, and the job object it carries (the snapshot). Returns a reason when malformed.
   */
  toEvent(message: VendorMessage, nextSeq: number): JobEvent | string;

  /**
   * fal: its events carry no seq; a reopened status stream starts with the current status and
   * every log line so far, as a poll answers. Given a streamed or polled event and the last stored
   * job object (undefined: none yet), returns the event to store: its data only what is new (fal:
   * the log lines after the last stored one), its `job` and `snapshot` everything so far (fal: every
   * line, the newest kept); or undefined when nothing is new (a repeated status, then skipped: it
   * takes no seq). Left out by vendors whose events are numbered (the bus drops repeated seqs).
   */
  unseenPart?(event: JobEvent, last: Record<string, unknown> | undefined): JobEvent | undefined;
}

/**
 * Recovering: resuming a dropped stream, polling the job's status, ending a job the vendor lost
 * or that outlived its deadline, and storing its result. Used by the follower.
 */
export interface ProfileRecovery {
  /**
   * OpenAI: the request that resumes an interrupted stream after `afterSeq`
   * (`GET /responses/<id>?stream=true&starting_after=N`) while the vendor allows it; an answer
   * that is not a stream means "not possible", and the job is polled. Left out by Midjourney
   * (no resume) and fal (its status stream has no ids: `streamRequest` reopens it).
   */
  resumeRequest?(jobId: string, afterSeq: number): UpstreamRequest;

  /** The status poll (Midjourney `GET /jobs/<id>`, OpenAI `GET /responses/<id>`, fal `GET …/status`). */
  pollRequest(jobId: string): UpstreamRequest;
  /** Reads a poll answer. */
  pollOutcome(reply: UpstreamReply): PollOutcome;
  /** What of a job object counts as a change worth an event (Midjourney: status, progress, `updated`). */
  statusKey(job: Record<string, unknown>): string;
  /** A polled job object as an event in the vendor's own shape (Midjourney `midjourney_<status>`, OpenAI `response.<status>`). */
  statusEvent(seq: number, job: Record<string, unknown>, now: Date): JobEvent;
  /** The job's creation time from its job object, ms since the epoch (deadlines count from it), if it says. */
  createdAt(job: Record<string, unknown>): number | undefined;

  /**
   * A terminal event the relay synthesizes when it gives up on a job (deadline) or the vendor
   * lost it, in the vendor's shape and naming the job, so a client can match it to its job
   * (Midjourney `{"event":"error","jobId"}`, OpenAI `response.failed` with the response's id and
   * last known fields, fal `COMPLETED` with its `request_id` and URLs). The job object it ends
   * with, if it has one (`job`: OpenAI, fal), becomes the snapshot.
   */
  terminalEvent(seq: number, reason: string, now: Date, job: KnownJob): JobEvent;

  /**
   * fal: the request fetching the job's result once it is over (`GET …/requests/<id>`); its answer
   * is stored with the history as a final event, so late joiners and `GET result` get it after
   * the vendor dropped it. Left out by vendors whose terminal event carries the result.
   */
  resultRequest?(jobId: string): UpstreamRequest;
  /** fal: the terminal event to store, given its result's answer (required with resultRequest). */
  withResult?(terminal: JobEvent, result: UpstreamReply): JobEvent;
}

/** Framing: how a subscription's frames look on the vendor's drop-in paths. Used by the app and the runtimes' subscriptions. */
export interface ProfileFrames {
  /** How frames look on the vendor's own drop-in paths (OpenAI: `event:` names, no gap frames, no 204); default: as on the uniform path. */
  readonly dropInFrames?: FrameStyle;
}

/**
 * A vendor's job API, phase by phase. Requests a vendor's own routes make and no generic caller
 * does (cancel, list) live with those routes, not here.
 */
export interface UpstreamProfile extends ProfileStart, ProfileIngest, ProfileRecovery, ProfileFrames {
  /** The profile's name: `/v1/jobs/<name>/…`, bus keys `<name>:<jobid>`, subscribe tokens, the metrics `profile` label. */
  readonly name: string;
}

/** Profile names: safe in a URL segment, a bus key and a metrics label. */
export const PROFILE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * The poll reading of vendors whose job read answers the job object (Midjourney, OpenAI):
 * 200 with an object is its status, terminal when `status` is in `terminal`; 404/410 gone; else retry.
 */
export function jobObjectPollOutcome(reply: UpstreamReply, terminal: ReadonlySet<string>): PollOutcome {
  if (reply.status === 200 && isRecord(reply.body))
    return { kind: 'status', job: reply.body, terminal: terminal.has(String(reply.body.status)) };
  if (reply.status === 404 || reply.status === 410) return { kind: 'gone' };
  return { kind: 'retry' };
}
