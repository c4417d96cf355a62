import type { Scenario } from './directives.ts';
import { createJob, createJobId, safeJobId } from './job.ts';
import type { Job } from './job.ts';
import { startJobRun } from './job-run.ts';
import { createJobStore } from './job-store.ts';
import type { RequestBody } from './request-body.ts';
import type { StatsRecorder } from './stats.ts';
import { createStreamSession } from './stream-session.ts';
import { producesImages, readStreamFlag } from './verbs.ts';
import type { Verb } from './verbs.ts';

/** Limits and defaults the service applies to every job. */
export interface JobServiceOptions {
  maxJobs: number;
  defaultSteps: number;
  defaultIntervalMs: number;
  basePath: string;
  stats: StatsRecorder;
  now: () => number;
}

/** A validated create request. */
export interface CreateJobInput {
  verb: Verb;
  body: RequestBody;
  scenario: Scenario;
  /** The caller's bearer token, echoed only under `--sim-echo-token`. */
  token: string;
  /** `<scheme>://<host>` the request came to, for image URLs. */
  origin: string;
}

/** A created job (with its stream when `stream` was true), or the channel was full. */
export type CreateJobResult = { ok: true; job: Job; body?: ReadableStream<Uint8Array> } | { ok: false; error: string };

/** What `GET /jobs` returns. */
export interface JobsOverview {
  channels: Record<string, { maxJobs: number; running: number; jobs: string[] }>;
  running: number;
}

/** The vendor's job API minus HTTP: create, look up, cancel, list. */
export interface JobService {
  create(input: CreateJobInput): CreateJobResult;
  get(jobid: string): Job | undefined;
  /** The cancelled job, `undefined` for an unknown id, or the job unchanged when it had already finished. */
  cancel(jobid: string): { found: false } | { found: true; cancelled: boolean; job: Job };
  overview(): JobsOverview;
  runningCount(): number;
  /** Clears every timer and ends every open stream. */
  close(): void;
}

/** Creates the service with an empty job store. */
export function createJobService(options: JobServiceOptions): JobService {
  const store = createJobStore();
  let serial = Math.floor(Math.random() * 1e8);

  return {
    create({ verb, body, scenario, token, origin }) {
      const channel = typeof body.channel === 'string' ? body.channel : 'default';
      const busy = store.channels().get(channel)?.length ?? 0;
      if (busy >= options.maxJobs) {
        return { ok: false, error: `Channel ${channel} is busy: ${busy} of ${options.maxJobs} jobs running, retry later` };
      }
      const at = options.now();
      const jobid = createJobId(channel, at, serial++);
      const echoed = scenario.echoToken ? token : undefined;
      const job = createJob({
        jobid,
        verb,
        request: body,
        at,
        errorDetails: echoed === undefined ? undefined : `Authorization: Bearer ${echoed}`,
      });
      const session = readStreamFlag(body.stream)
        ? createStreamSession({ garbage: scenario.garbage, dropAfter: scenario.dropAfter })
        : undefined;
      options.stats.jobCreated();
      if (session) options.stats.streamOpened();
      const run = startJobRun({
        job,
        plan: {
          steps: scenario.steps ?? (producesImages(verb) ? options.defaultSteps : 0),
          intervalMs: scenario.intervalMs ?? options.defaultIntervalMs,
          outcome: scenario.outcome,
        },
        mediaBase: `${origin}${options.basePath}/_sim/images/${safeJobId(jobid)}`,
        session,
        echoedToken: echoed,
        now: options.now,
        onSettled: (settled) => store.release(settled.jobid),
      });
      store.add(channel, run);
      return session ? { ok: true, job, body: session.body } : { ok: true, job };
    },
    get: (jobid) => store.get(jobid)?.job,
    cancel(jobid) {
      const run = store.get(jobid);
      if (!run) return { found: false };
      const cancelled = run.cancel();
      return { found: true, cancelled, job: run.job };
    },
    overview() {
      const channels: JobsOverview['channels'] = {};
      for (const [name, jobs] of store.channels()) channels[name] = { maxJobs: options.maxJobs, running: jobs.length, jobs };
      return { channels, running: store.runningCount() };
    },
    runningCount: () => store.runningCount(),
    close() {
      for (const run of store.all()) run.stop();
    },
  };
}
