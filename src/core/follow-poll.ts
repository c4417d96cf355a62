import { TERMINAL_STATUSES, type JobEvent, synthesizeErrorEvent, synthesizeEvent } from './event.ts';
import type { Follow } from './follow.ts';
import { type AppendDeps, appendReliably } from './follow-append.ts';
import type { UpstreamClient } from './upstream.ts';

export interface PollPhaseOptions extends AppendDeps {
  upstream: UpstreamClient;
  owner: string;
  leaseMs: number;
  pollIntervalMs: number;
  now(): number;
}

/** Sleeps, or less when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * The bus refused an append: a newer seq was stored by someone else. Re-read what the bus
 * holds, continue after it, and stop when that someone holds the lease (it follows the job).
 */
async function resync(follow: Follow, options: PollPhaseOptions): Promise<void> {
  const { bus, owner, leaseMs, logger } = options;
  try {
    const state = await bus.state(follow.jobId);
    if (state) {
      follow.lastSeq = Math.max(follow.lastSeq, state.lastSeq);
      if (state.terminalSeq !== null) follow.over = true;
      const job = parseSnapshot(state.snapshot);
      if (job) follow.knowJob(job);
    }
    if (!follow.over && !(await bus.renewLease(follow.jobId, owner, leaseMs))) {
      logger.warn({ jobId: follow.jobId }, 'another instance follows the job; stopped polling it');
      follow.stop('lost');
    }
  } catch (err) {
    logger.warn({ jobId: follow.jobId, err: err instanceof Error ? err.message : String(err) }, 'could not re-read the job state');
  }
}

/** The job object inside a stored snapshot event, if it holds one. */
export function parseSnapshot(snapshot: string | null): Record<string, unknown> | undefined {
  if (!snapshot) return undefined;
  try {
    const job = (JSON.parse(snapshot) as { job?: unknown }).job;
    return typeof job === 'object' && job !== null ? (job as Record<string, unknown>) : undefined;
  } catch {
    // A bad snapshot only costs one repeated status event.
    return undefined;
  }
}

/**
 * The poll phase: asks the upstream for the job's status every interval (backing off on
 * failures) and appends each change as a synthesized event, until the job is over, gone
 * upstream, or the follow is stopped (lease lost, deadline, close).
 */
export async function pollPhase(follow: Follow, options: PollPhaseOptions): Promise<void> {
  follow.phase = 'poll';
  let failures = 0;
  while (!follow.over && !follow.signal.aborted && !options.closed()) {
    let status = 0;
    let body: unknown;
    try {
      ({ status, body } = await options.upstream.getJob(follow.jobId));
    } catch (err) {
      options.logger.warn({ jobId: follow.jobId, err: err instanceof Error ? err.message : String(err) }, 'poll failed');
    }
    let event: JobEvent | undefined;
    let last = false;
    if (status === 200 && typeof body === 'object' && body !== null) {
      failures = 0;
      const job = body as Record<string, unknown>;
      if (!follow.isUnchanged(job)) event = synthesizeEvent(follow.lastSeq + 1, job, new Date(options.now()));
      last = TERMINAL_STATUSES.has(String(job.status));
    } else if (status === 404 || status === 410) {
      event = synthesizeErrorEvent(follow.lastSeq + 1, 'job no longer exists upstream', new Date(options.now()));
      last = true;
    } else {
      failures++;
    }
    if (event && (await appendReliably(options, follow, event)).refused > 0) {
      await resync(follow, options);
      last = false;
    }
    if (last) return;
    await pause(options.pollIntervalMs * Math.min(8, 2 ** Math.min(failures, 3)), follow.signal);
  }
}
