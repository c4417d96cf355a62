import type { Bus, StoredEvent } from './bus.ts';
import { RelayError } from './errors.ts';
import { type JobEvent, TERMINAL_STATUSES, synthesizeErrorEvent, synthesizeEvent } from './event.ts';
import { isValidJobId } from './job-id.ts';
import type { Logger } from './logger.ts';
import type { UpstreamClient, UpstreamReply } from './upstream.ts';
import { readEvents } from './upstream-stream.ts';

export interface FollowerOptions {
  bus: Bus;
  upstream: UpstreamClient;
  logger: Logger;
  /** This instance's lease owner id. */
  owner: string;
  leaseMs: number;
  pollIntervalMs: number;
  /** A job still not over after this long is ended with a synthesized `error` event. */
  jobDeadlineMs: number;
  now?: () => number;
  onMalformed?(reason: string): void;
  onUpstreamStream?(): void;
}

export type EnsureResult = 'following' | 'followed-elsewhere' | 'over' | 'unknown';

/** Follows jobs upstream (stream first, polling after) and appends what it sees to the bus. */
export interface Followers {
  /**
   * Takes over a job's upstream stream as its creator; resolves with the job id once the
   * first events are on the bus, and keeps reading (then polling) until the job is over.
   */
  followStream(body: ReadableStream<Uint8Array>): Promise<string>;
  /** Makes sure some instance follows the job, taking the lease and polling if none does. */
  ensure(jobId: string): Promise<EnsureResult>;
  /** Job ids this instance follows now. */
  active(): string[];
  close(): Promise<void>;
}

interface Follow {
  jobId: string;
  lastSeq: number;
  lastKey: string;
  over: boolean;
  /** Another instance holds the lease now: stop polling, it follows the job. */
  lost: boolean;
  startedAt: number;
  renewTimer: ReturnType<typeof setInterval> | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function jobKey(job: Record<string, unknown>): string {
  const response = job.response as Record<string, unknown> | undefined;
  return `${String(job.status)}|${String(response?.progress_percent)}|${String(job.updated)}`;
}

export function createFollowers(options: FollowerOptions): Followers {
  const { bus, upstream, logger } = options;
  const now = options.now ?? Date.now;
  const follows = new Map<string, Follow>();
  let closed = false;

  function begin(jobId: string): Follow {
    const follow: Follow = { jobId, lastSeq: -1, lastKey: '', over: false, lost: false, startedAt: now(), renewTimer: undefined };
    const { owner, leaseMs } = options;
    follow.renewTimer = setInterval(
      () => {
        bus
          .renewLease(jobId, owner, leaseMs)
          // A lapsed lease nobody took is simply taken back.
          .then(async (held) => held || (await bus.acquireLease(jobId, owner, leaseMs)))
          .then((held) => {
            if (held || follow.lost) return;
            follow.lost = true;
            logger.warn({ jobId }, 'another instance took over the job');
          })
          .catch((err: unknown) => {
            logger.warn({ jobId, err: String(err) }, 'lease renewal failed');
          });
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    follows.set(jobId, follow);
    return follow;
  }

  function end(follow: Follow): void {
    follow.over = true;
    clearInterval(follow.renewTimer);
    follows.delete(follow.jobId);
    bus.releaseLease(follow.jobId, options.owner).catch(() => undefined);
  }

  /** Appends events in order, as one batch when the bus can (a burst then reaches subscribers together). */
  async function append(follow: Follow, events: JobEvent[]): Promise<void> {
    const inputs = events.map((event) => ({
      seq: event.seq,
      data: event.data,
      terminal: event.terminal,
      ...(event.job ? { snapshot: event.data } : {}),
    }));
    let stored: (StoredEvent | null)[];
    if (inputs.length > 1 && bus.appendMany) stored = await bus.appendMany(follow.jobId, inputs);
    else {
      stored = [];
      for (const input of inputs) stored.push(await bus.append(follow.jobId, input));
    }
    events.forEach((event, i) => {
      if (stored[i]) follow.lastSeq = event.seq;
      if (event.job) follow.lastKey = jobKey(event.job);
      if (event.terminal) follow.over = true;
    });
  }

  /** Appends with retries (appends are idempotent by seq): an event the bus could not take is not given up on quickly. */
  async function appendReliably(follow: Follow, events: JobEvent | JobEvent[]): Promise<void> {
    const batch = Array.isArray(events) ? events : [events];
    if (batch.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await append(follow, batch);
        return;
      } catch (err) {
        if (closed || attempt >= 20) throw err;
        logger.warn({ jobId: follow.jobId, seq: batch[0]?.seq, err: String(err) }, 'bus append failed, retrying');
        await sleep(Math.min(2000, 50 * 2 ** attempt));
      }
    }
  }

  async function poll(follow: Follow): Promise<void> {
    let failures = 0;
    while (!follow.over && !closed && !follow.lost) {
      if (now() - follow.startedAt > options.jobDeadlineMs) {
        await appendReliably(follow, synthesizeErrorEvent(follow.lastSeq + 1, 'relay gave up: job exceeded its deadline', new Date(now())));
        break;
      }
      let status = 0;
      let body: unknown;
      try {
        ({ status, body } = await upstream.getJob(follow.jobId));
      } catch (err) {
        logger.warn({ jobId: follow.jobId, err: err instanceof Error ? err.message : String(err) }, 'poll failed');
      }
      if (status === 200 && typeof body === 'object' && body !== null) {
        failures = 0;
        const job = body as Record<string, unknown>;
        if (jobKey(job) !== follow.lastKey) await appendReliably(follow, synthesizeEvent(follow.lastSeq + 1, job, new Date(now())));
        if (TERMINAL_STATUSES.has(String(job.status))) break;
      } else if (status === 404 || status === 410) {
        await appendReliably(follow, synthesizeErrorEvent(follow.lastSeq + 1, 'job no longer exists upstream', new Date(now())));
        break;
      } else {
        failures++;
      }
      await sleep(options.pollIntervalMs * Math.min(8, 2 ** Math.min(failures, 3)));
    }
  }

  function finish(follow: Follow, work: Promise<void>): void {
    work
      .catch((err: unknown) =>
        logger.error({ jobId: follow.jobId, err: err instanceof Error ? err.message : String(err) }, 'following a job failed'),
      )
      .finally(() => end(follow));
  }

  return {
    followStream(body) {
      options.onUpstreamStream?.();
      return new Promise<string>((resolve, reject) => {
        const early: JobEvent[] = [];
        let follow: Follow | undefined;
        // Events read while an append is in flight wait here and go to the bus as one batch.
        const queued: JobEvent[] = [];
        let flushing: Promise<void> | null = null;
        let failure: unknown;
        const flush = (target: Follow): Promise<void> => {
          if (flushing) return flushing;
          flushing = (async () => {
            try {
              while (queued.length > 0) await appendReliably(target, queued.splice(0));
            } catch (err) {
              failure = err;
            }
          })().then(() => {
            flushing = null;
            // An event queued in the moment between the loop's end and this callback.
            if (queued.length > 0 && failure === undefined) void flush(target);
          });
          return flushing;
        };
        const settle = async (): Promise<void> => {
          while (flushing) await flushing;
          if (failure !== undefined) throw failure;
        };
        const reader = readEvents(body, {
          onEvent: async (event) => {
            if (follow) {
              if (failure !== undefined) throw failure;
              if (follow.over) return;
              queued.push(event);
              const running = flush(follow);
              // Bounded read-ahead: past this, reading waits for the bus.
              if (queued.length >= 256) await running;
              return;
            }
            early.push(event);
            if (event.jobId === undefined) return;
            // An upstream-chosen id becomes a bus key, a URL segment and a header: it must be safe.
            if (!isValidJobId(event.jobId)) throw new RelayError('upstream_error', 'upstream named an invalid job id');
            const jobId = event.jobId;
            await bus.acquireLease(jobId, options.owner, options.leaseMs);
            follow = begin(jobId);
            await appendReliably(follow, early);
            resolve(jobId);
          },
          onMalformed: options.onMalformed,
        });
        const done = reader.then(
          async () => {
            if (!follow) throw new RelayError('upstream_error', 'upstream stream ended before naming the job');
            await settle();
            if (!follow.over && !closed) {
              logger.info({ jobId: follow.jobId, lastSeq: follow.lastSeq }, 'upstream stream ended early; polling');
              await poll(follow);
            }
          },
          async (err: unknown) => {
            if (!follow) throw new RelayError('upstream_error', `upstream stream broke before naming the job`);
            logger.warn({ jobId: follow.jobId, err: err instanceof Error ? err.message : String(err) }, 'upstream stream broke; polling');
            await settle();
            if (!follow.over && !closed) await poll(follow);
          },
        );
        done.then(
          () => {
            if (follow) end(follow);
          },
          (err: unknown) => {
            if (follow) end(follow);
            reject(err);
          },
        );
      });
    },

    async ensure(jobId) {
      if (follows.has(jobId)) return 'following';
      const state = await bus.state(jobId);
      if (state?.terminalSeq !== null && state?.terminalSeq !== undefined) return 'over';
      if (!(await bus.acquireLease(jobId, options.owner, options.leaseMs))) return 'followed-elsewhere';
      if (follows.has(jobId)) return 'following';
      const follow = begin(jobId);
      if (state) {
        follow.lastSeq = state.lastSeq;
        if (state.snapshot) {
          try {
            const job = (JSON.parse(state.snapshot) as { job?: Record<string, unknown> }).job;
            if (job) follow.lastKey = jobKey(job);
          } catch {
            // A bad snapshot only costs one repeated status event.
          }
        }
        logger.info({ jobId, lastSeq: state.lastSeq }, 'taking over an unfollowed job; polling');
        finish(follow, poll(follow));
        return 'following';
      }
      let reply: UpstreamReply;
      try {
        reply = await upstream.getJob(jobId);
      } catch (err) {
        end(follow);
        throw err;
      }
      if (reply.status !== 200 || typeof reply.body !== 'object' || reply.body === null) {
        end(follow);
        if (reply.status === 404 || reply.status === 410) return 'unknown';
        throw new RelayError('upstream_error', `upstream answered ${reply.status} for the job`);
      }
      const job = reply.body as Record<string, unknown>;
      logger.info({ jobId }, 'following a job created elsewhere; polling');
      finish(
        follow,
        (async () => {
          await appendReliably(follow, synthesizeEvent(0, job, new Date(now())));
          if (!follow.over) await poll(follow);
        })(),
      );
      return 'following';
    },

    active() {
      return [...follows.keys()];
    },

    async close() {
      closed = true;
      for (const follow of [...follows.values()]) end(follow);
    },
  };
}
