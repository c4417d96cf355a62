import type { EventLog, Leases } from '../bus/bus.ts';
import { pause } from '../clock.ts';
import type { JobEvent } from '../ingest/event.ts';
import type { Follow } from './follow.ts';
import { type AppendDeps, appendReliably, received } from './append.ts';
import type { PollOutcome, ProfileIngest, ProfileRecovery } from '../profile.ts';
import type { UpstreamClient } from '../ingest/upstream.ts';
import { errorMessage } from '../errors.ts';

export interface PollPhaseOptions extends AppendDeps {
  bus: EventLog & Leases;
  profile: ProfileIngest & ProfileRecovery;
  upstream: UpstreamClient;
  owner: string;
  leaseMs: number;
  pollIntervalMs: number;
  /** Ms since the epoch, for synthesized events' `ts`. */
  now(): number;
  /** The terminal event as it is to be stored (see StreamPhaseOptions.settle). */
  settle?(jobId: string, event: JobEvent): Promise<JobEvent>;
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
      const job = parseSnapshot(options.profile, state.snapshot);
      if (job) follow.knowJob(job);
    }
    if (!follow.over && !(await bus.renewLease(follow.jobId, owner, leaseMs))) {
      logger.warn({ jobId: follow.jobId }, 'another instance follows the job; stopped polling it');
      follow.stop('lost');
    }
  } catch (err) {
    logger.warn({ jobId: follow.jobId, err: errorMessage(err) }, 'could not re-read the job state');
  }
}

/** The job object inside a stored snapshot event, as the profile reads it (a bad one only costs one repeated status event). */
export function parseSnapshot(profile: ProfileIngest, snapshot: string | null): Record<string, unknown> | undefined {
  if (!snapshot) return undefined;
  const event = profile.toEvent({ data: snapshot }, 0);
  return typeof event === 'string' ? undefined : event.job;
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
    const { profile } = options;
    let outcome: PollOutcome = { kind: 'retry' };
    try {
      options.stats.upstreamPolls++;
      outcome = profile.pollOutcome(await options.upstream.send(profile.pollRequest(follow.jobId)));
    } catch (err) {
      options.logger.warn({ jobId: follow.jobId, err: errorMessage(err) }, 'poll failed');
    }
    let event: JobEvent | undefined;
    let last = false;
    if (outcome.kind === 'status') {
      failures = 0;
      if (!follow.isUnchanged(outcome.job)) event = profile.statusEvent(follow.lastSeq + 1, outcome.job, new Date(options.now()));
      last = outcome.terminal;
    } else if (outcome.kind === 'gone') {
      event = profile.terminalEvent(follow.lastSeq + 1, 'job no longer exists upstream', new Date(options.now()), follow.known);
      last = true;
    } else {
      failures++;
    }
    // A poll answers everything so far (fal: every log line): the event keeps what is new.
    if (event && profile.unseenPart) event = profile.unseenPart(event, follow.lastJob);
    if (event) received(options.stats, event);
    if (event?.terminal && options.settle) event = await options.settle(follow.jobId, event);
    if (event && (await appendReliably(options, follow, event)).refused > 0) {
      await resync(follow, options);
      last = false;
    }
    if (last) return;
    await pause(options.clock, options.pollIntervalMs * Math.min(8, 2 ** Math.min(failures, 3)), follow.signal);
  }
}
