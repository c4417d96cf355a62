/**
 * Types of sse-relay's browser client (`/client.js`): `watch(jobs, handlers, options)` over the
 * multiplexed stream `GET /v1/stream`. See docs/dashboard.md.
 */

/** A job as the stream names it: `<profile>/<id>`, e.g. `midjourney-v3/j1125…-bot:midjourney`. */
export type JobName = string;

/** One event of one job, as the multiplexed stream frames it. */
export interface Frame<E = unknown> {
  job: JobName;
  /** The job's own sequence number (may skip; never repeats, never goes back). */
  seq: number;
  /** True on the job's last event; the client then stops asking for that job. */
  terminal: boolean;
  /** The vendor's event, as on the uniform path `/v1/jobs/<profile>/<id>/stream`. */
  event: E;
}

/** Events `from` to `to` of a job are gone from the gateway's history; `latest` is the job's latest object, re-read after the gap. */
export interface Gap {
  job: JobName;
  from: number;
  to: number;
  /** `GET /v1/jobs/<profile>/<id>`'s answer, or null when it could not be read. */
  latest: unknown;
}

/** The connection: `connecting` the first time, `open`, `reconnecting` after a loss (with back-off), `closed` when every job is over, on a refusal, or after close(). */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * Why the gateway refused the stream (a 4xx other than 408 and 429, after a token refresh where one
 * was possible): a refusal naming a job drops that job; any other stops the watch until its jobs change.
 */
export interface StreamError {
  /** HTTP status; 0 for a client-side failure (a token function that threw). */
  status: number;
  /** The gateway's error code (`bad_request`, `forbidden`, `not_found`, …) or `token_refresh_failed`. */
  code: string;
  message: string;
  /** The job the refusal names (unknown to the gateway, or not in the token): it is dropped, the others go on. */
  job?: JobName;
}

/** Callbacks about one job (given per job, or shared by all). */
export interface JobHandlers<E = unknown> {
  onEvent?(frame: Frame<E>): void;
  /** The job's terminal event (also passed to onEvent first). */
  onTerminal?(frame: Frame<E>): void;
  onGap?(gap: Gap): void;
}

export interface WatchHandlers<E = unknown> extends JobHandlers<E> {
  onState?(state: ConnectionState): void;
  onError?(error: StreamError): void;
  /** Every job of this watch has had its terminal event. */
  onEnd?(): void;
}

export interface WatchOptions {
  /** The gateway's origin (default: the one this module was loaded from). */
  base?: string;
  /**
   * A subscribe token naming every job (secured gateways), or a function giving one. A function is
   * called first, again before the token's `exp` (see refreshBeforeS), and when the gateway refuses it.
   */
  token?: string | (() => string | Promise<string>);
  /** One connection for all tabs through a SharedWorker, where the browser has one (default true). */
  shared?: boolean;
  /** Back-off after the browser gave up on a stream: from this (default 1000 ms)… */
  minRetryMs?: number;
  /** …doubling up to this (default 30000 ms), with jitter. */
  maxRetryMs?: number;
  /** Refresh a token this long before it expires (default 60 s; at most a third of its remaining life). */
  refreshBeforeS?: number;
}

export interface Watch {
  /** Adds a job to the same connection (the stream reconnects with the longer list, resuming the others). */
  add(job: JobName, handlers?: JobHandlers): void;
  remove(job: JobName): void;
  close(): void;
  readonly state: ConnectionState;
  /** Whether this watch goes through the browser's shared worker. */
  readonly shared: boolean;
}

/** Watches jobs over one multiplexed stream: a list of names, or names with their own handlers (called before the shared ones). */
export function watch<E = unknown>(
  jobs: readonly JobName[] | Readonly<Record<JobName, JobHandlers<E>>>,
  handlers?: WatchHandlers<E>,
  options?: WatchOptions,
): Watch;

/** `<profile>/<id>`. */
export function jobName(profile: string, id: string): JobName;
