import type { Outcome } from './directives.ts';
import { errorEvent, initializedEvent, jobEvent } from './events.ts';
import type { SimEvent } from './events.ts';
import { changeJob } from './job.ts';
import type { Job, JobChange } from './job.ts';
import { completedResponse, progressResponse, startedResponse } from './job-response.ts';
import type { StreamSession } from './stream-session.ts';

/** The schedule of one job: progress events, the gap between events, and how it ends. */
export interface JobPlan {
  steps: number;
  intervalMs: number;
  outcome: Outcome;
}

/** Everything a run needs; `session` is absent for `stream:false`. */
export interface JobRunOptions {
  job: Job;
  plan: JobPlan;
  /** URL prefix of this job's images, `<origin><basePath>/_sim/images/<jobid-safe>`. */
  mediaBase: string;
  session?: StreamSession;
  /** Put into the terminal error text for `--sim-echo-token`. */
  echoedToken?: string;
  now: () => number;
  /** Called once when the job leaves the running states (terminal or cancelled), to free its slot. */
  onSettled: (job: Job) => void;
}

/** A job advancing on timers, independent of whoever is (or is not) reading its stream. */
export interface JobRun {
  readonly job: Job;
  readonly running: boolean;
  /** Moves a running job to `cancelled` and ends its stream without a terminal event; false if it was not running. */
  cancel(): boolean;
  /** Clears the timer and ends the stream without touching the job (simulator shutdown). */
  stop(): void;
}

const FAILURES: Record<Exclude<Outcome, 'completed'>, string> = {
  failed: 'Simulated failure: the job could not be processed',
  moderated: 'Sorry! Our AI moderator thinks this prompt is probably against our community standards.',
  error: 'Simulated unexpected error',
};

/** Starts a run: `initialized` and `midjourney_created` go out at once, each later step after `plan.intervalMs`. */
export function startJobRun(options: JobRunOptions): JobRun {
  const { plan, session, now } = options;
  let job = options.job;
  let seq = 0;
  let progressDone = 0;
  let stepsDone = 0;
  let running = true;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const send = (build: (seq: number, at: number) => SimEvent) => {
    const at = now();
    session?.send(build(seq++, at), at);
  };
  const change = (patch: JobChange) => {
    job = changeJob(job, patch, now());
  };
  const settle = () => {
    running = false;
    clearTimeout(timer);
    session?.end();
    options.onSettled(job);
  };

  const advance = () => {
    stepsDone++;
    if (stepsDone === 1) {
      change({ status: 'started', response: startedResponse(job) });
    } else if (progressDone < plan.steps) {
      progressDone++;
      if (progressDone === 3 && plan.steps > 3) seq++; // the vendor allows gaps in seq; show one
      change({ status: 'progress', response: progressResponse(job, progressPercent(progressDone, plan.steps)) });
    } else {
      finish();
      return;
    }
    send((s, at) => jobEvent(job, s, at));
    timer = setTimeout(advance, plan.intervalMs);
  };

  const finish = () => {
    if (plan.outcome === 'completed') {
      change({ status: 'completed', response: completedResponse(job, options.mediaBase) });
      send((s, at) => jobEvent(job, s, at));
    } else if (plan.outcome === 'error') {
      const echo = options.echoedToken === undefined ? '' : ` (Authorization: Bearer ${options.echoedToken})`;
      change({ status: 'failed', error: FAILURES.error });
      send((s, at) => errorEvent(`${FAILURES.error}${echo}`, s, at));
    } else {
      change({ status: plan.outcome, error: FAILURES[plan.outcome] });
      send((s, at) => jobEvent(job, s, at));
    }
    settle();
  };

  send((s, at) => initializedEvent(job.jobid, s, at));
  send((s, at) => jobEvent(job, s, at));
  timer = setTimeout(advance, plan.intervalMs);

  return {
    get job() {
      return job;
    },
    get running() {
      return running;
    },
    cancel() {
      if (!running) return false;
      change({ status: 'cancelled' });
      settle();
      return true;
    },
    stop() {
      clearTimeout(timer);
      session?.end();
    },
  };
}

/** Evenly spaced, strictly rising percentages below 100 (steps are capped at 99). */
function progressPercent(done: number, steps: number): number {
  return Math.round((done * 100) / (steps + 1));
}
