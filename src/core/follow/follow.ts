import type { Clock, TimerHandle } from '../clock.ts';
import type { KnownJob } from '../profile.ts';
import { type LeaseHolder, renewLease } from './ownership.ts';

/** How a job is being followed: reading its upstream stream, or polling its status. */
export type FollowPhase = 'stream' | 'poll';

/** Why a follow was stopped from outside its phase. */
export type StopReason = 'lost' | 'deadline' | 'closed';

/** A follow holds its job's lease (LeaseHolder) from the start. */
export interface FollowInit extends LeaseHolder {
  jobId: string;
  /** Times the lease renewals and the deadline. */
  clock: Clock;
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
  private readonly renewTimer: TimerHandle;
  private deadlineTimer: TimerHandle | undefined;
  private deadlineAt: number;
  private isDisposed = false;
  /** A renewal is in flight (they pile up while the bus hangs): the next tick skips. */
  private renewing = false;

  constructor(init: FollowInit) {
    this.init = init;
    this.jobId = init.jobId;
    this.phase = init.phase;
    this.deadlineAt = init.clock.now() + init.deadlineMs;
    this.renewTimer = init.clock.setInterval(
      () => {
        if (this.renewing) return;
        this.renewing = true;
        void renewLease(this, init).finally(() => {
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
    if (at === undefined || !Number.isFinite(at) || at > this.init.clock.now() || at + deadlineMs >= this.deadlineAt) return;
    this.deadlineAt = at + deadlineMs;
    this.init.clock.clearTimeout(this.deadlineTimer);
    if (!this.isDisposed) this.armDeadline();
  }

  /** The follow was dropped: its timers are cleared and its lease given up. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Clears the timers and gives the lease up; safe to call twice. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.init.clock.clearInterval(this.renewTimer);
    this.init.clock.clearTimeout(this.deadlineTimer);
    this.init.bus.releaseLease(this.jobId, this.init.owner).catch(() => undefined);
  }

  private armDeadline(): void {
    const remaining = this.deadlineAt - this.init.clock.now();
    if (remaining <= 0) {
      this.stop('deadline');
      return;
    }
    this.deadlineTimer = this.init.clock.setTimeout(() => this.armDeadline(), Math.min(remaining, MAX_TIMER_MS));
  }
}
