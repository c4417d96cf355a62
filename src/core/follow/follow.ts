import type { Bus } from '../bus/bus.ts';
import type { Logger } from '../logger.ts';
import type { KnownJob } from '../profile.ts';
import { errorMessage } from '../errors.ts';

/** How a job is being followed: reading its upstream stream, or polling its status. */
export type FollowPhase = 'stream' | 'poll';

/** Why a follow was stopped from outside its phase. */
export type StopReason = 'lost' | 'deadline' | 'closed';

export interface FollowInit {
  jobId: string;
  bus: Bus;
  logger: Logger;
  owner: string;
  leaseMs: number;
  /** Ms from now after which the job is given up on (whatever the phase). */
  deadlineMs: number;
  phase: FollowPhase;
  /** The profile's status key of a job object: polling appends only what changed. */
  statusKey(job: Record<string, unknown>): string;
}

/** setTimeout's largest delay; longer deadlines re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One job this instance follows: what the bus stored of it, and the one owner of its timers
 * (lease renewal and deadline). Phases watch `signal`, which aborts when the follow must stop.
 *
 * The lease follows the phase: while the upstream stream is read, a lapsed or taken lease is
 * claimed back (the stream's holder keeps the job); while polling, a lost lease stops the follow.
 */
export class Follow {
  readonly jobId: string;
  /** Seq of the newest event the bus stored from this follow (or had when it began). */
  lastSeq = -1;
  /** Status key of the newest stored job object: polling appends only what changed. */
  lastKey = '';
  /** The newest stored job object (the snapshot): what profile.unseenPart compares with, and a synthesized terminal event keeps. */
  lastJob: Record<string, unknown> | undefined;
  /** The bus stored this job's terminal event. */
  over = false;
  phase: FollowPhase;
  private readonly init: FollowInit;
  private readonly controller = new AbortController();
  private readonly renewTimer: ReturnType<typeof setInterval>;
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private deadlineAt: number;
  private disposed = false;
  /** A renewal is in flight (they pile up while the bus hangs): the next tick skips. */
  private renewing = false;

  constructor(init: FollowInit) {
    this.init = init;
    this.jobId = init.jobId;
    this.phase = init.phase;
    this.deadlineAt = Date.now() + init.deadlineMs;
    this.renewTimer = setInterval(
      () => {
        if (this.renewing) return;
        this.renewing = true;
        void this.renew().finally(() => {
          this.renewing = false;
        });
      },
      Math.max(50, Math.floor(init.leaseMs / 3)),
    );
    this.armDeadline();
  }

  /** Aborts when the follow is stopped; its reason is a StopReason. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopReason(): StopReason | undefined {
    return this.controller.signal.aborted ? (this.controller.signal.reason as StopReason) : undefined;
  }

  /** Stops the running phase (the first reason wins). */
  stop(reason: StopReason): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Records what the bus stored: only stored events change the follow's state. */
  stored(event: { seq: number; terminal: boolean; job?: Record<string, unknown> }): void {
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    if (event.job) this.knowJob(event.job);
    if (event.terminal) this.over = true;
  }

  /** True when polling this job object would add nothing new. */
  isUnchanged(job: Record<string, unknown>): boolean {
    return this.init.statusKey(job) === this.lastKey;
  }

  /** Adopts a stored job object as the latest known status (a takeover's starting point). */
  knowJob(job: Record<string, unknown>): void {
    this.lastKey = this.init.statusKey(job);
    this.lastJob = job;
  }

  /** The job as a synthesized terminal event needs it (profile.terminalEvent). */
  get known(): KnownJob {
    return this.lastJob ? { jobId: this.jobId, last: this.lastJob } : { jobId: this.jobId };
  }

  /**
   * Brings the deadline forward to `deadlineMs` after the job's own creation time (ms since the
   * epoch; a job taken over does not get a fresh deadline); a time in the future or unknown changes nothing.
   */
  startedAt(at: number | undefined, deadlineMs: number): void {
    if (at === undefined || !Number.isFinite(at) || at > Date.now() || at + deadlineMs >= this.deadlineAt) return;
    this.deadlineAt = at + deadlineMs;
    clearTimeout(this.deadlineTimer);
    if (!this.disposed) this.armDeadline();
  }

  /** Clears the timers and gives the lease up; safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.renewTimer);
    clearTimeout(this.deadlineTimer);
    this.init.bus.releaseLease(this.jobId, this.init.owner).catch(() => undefined);
  }

  private armDeadline(): void {
    const remaining = this.deadlineAt - Date.now();
    if (remaining <= 0) {
      this.stop('deadline');
      return;
    }
    this.deadlineTimer = setTimeout(() => this.armDeadline(), Math.min(remaining, MAX_TIMER_MS));
  }

  private async renew(): Promise<void> {
    const { bus, owner, leaseMs, logger } = this.init;
    const jobId = this.jobId;
    try {
      // A lapsed lease nobody took is simply taken back.
      const held = (await bus.renewLease(jobId, owner, leaseMs)) || (await bus.acquireLease(jobId, owner, leaseMs));
      if (held || this.disposed) return;
      if (this.phase === 'stream') {
        await bus.claimLease(jobId, owner, leaseMs);
        logger.warn({ jobId }, 'lease was taken while this instance reads the upstream stream; claimed it back');
        return;
      }
      logger.warn({ jobId }, 'another instance took over the job; stopped polling it');
      this.stop('lost');
    } catch (err) {
      logger.warn({ jobId, err: errorMessage(err) }, 'lease renewal failed');
    }
  }
}
