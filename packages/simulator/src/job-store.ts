import type { JobRun } from './job-run.ts';

/** Finished jobs kept for GET before the oldest are forgotten, so long benchmarks do not grow memory forever. */
const MAX_STORED_JOBS = 10_000;

/** Jobs by id, and which of them hold a slot in each channel. */
export interface JobStore {
  add(channel: string, run: JobRun): void;
  get(jobid: string): JobRun | undefined;
  /** Frees the job's channel slot. */
  release(jobid: string): void;
  /** Ids of the running jobs per channel, for every channel seen so far. */
  channels(): Map<string, string[]>;
  runningCount(): number;
  all(): Iterable<JobRun>;
}

/** Creates an in-memory store. */
export function createJobStore(): JobStore {
  const runs = new Map<string, JobRun>();
  const slots = new Map<string, Set<string>>();
  const channelOf = new Map<string, string>();

  const forgetOldFinished = () => {
    for (const [jobid, run] of runs) {
      if (runs.size <= MAX_STORED_JOBS) return;
      if (run.running) continue;
      runs.delete(jobid);
      channelOf.delete(jobid);
    }
  };

  return {
    add(channel, run) {
      const jobid = run.job.jobid;
      runs.set(jobid, run);
      channelOf.set(jobid, channel);
      const channelSlots = slots.get(channel) ?? new Set<string>();
      slots.set(channel, channelSlots.add(jobid));
      forgetOldFinished();
    },
    get: (jobid) => runs.get(jobid),
    release(jobid) {
      const channel = channelOf.get(jobid);
      if (channel !== undefined) slots.get(channel)?.delete(jobid);
    },
    channels: () => new Map([...slots].map(([channel, ids]) => [channel, [...ids]])),
    runningCount: () => [...slots.values()].reduce((sum, ids) => sum + ids.size, 0),
    all: () => runs.values(),
  };
}
