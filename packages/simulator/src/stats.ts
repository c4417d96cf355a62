/** One request to a vendor path, as recorded for `/_sim/stats`. */
export interface SimRequest {
  method: string;
  path: string;
  at: string;
}

/** What `GET /_sim/stats` returns; counters start again after `POST /_sim/reset`. */
export interface SimStats {
  /** `stream:true` responses opened. */
  streamsServed: number;
  /** Jobs created (streamed or not). */
  jobs: number;
  /** Jobs holding a channel slot right now (not reset). */
  running: number;
  /** The last {@link MAX_RECORDED_REQUESTS} requests to vendor paths, oldest first. */
  requests: SimRequest[];
  /** `GET /jobs/<jobid>` calls per job id. */
  polls: Record<string, number>;
}

/** How many vendor requests the stats keep. */
export const MAX_RECORDED_REQUESTS = 1000;

/** Counts what the simulator served, so tests and benchmarks can check what the gateway asked for. */
export interface StatsRecorder {
  request(method: string, path: string, at: number): void;
  streamOpened(): void;
  jobCreated(): void;
  polled(jobid: string): void;
  snapshot(running: number): SimStats;
  reset(): void;
}

/** The requests and polls every vendor's recorder keeps: the last MAX_RECORDED_REQUESTS requests, polls by id. */
export function createRequestLog() {
  let requests: SimRequest[] = [];
  let polls = new Map<string, number>();
  return {
    request(method: string, path: string, at: number): void {
      requests.push({ method, path, at: new Date(at).toISOString() });
      if (requests.length > MAX_RECORDED_REQUESTS) requests.shift();
    },
    polled: (id: string): void => void polls.set(id, (polls.get(id) ?? 0) + 1),
    snapshot: () => ({ requests: [...requests], polls: Object.fromEntries(polls) }),
    reset(): void {
      requests = [];
      polls = new Map();
    },
  };
}

/** Creates a recorder with zeroed counters. */
export function createStatsRecorder(): StatsRecorder {
  let streamsServed = 0;
  let jobs = 0;
  const log = createRequestLog();
  return {
    request: log.request,
    streamOpened: () => void streamsServed++,
    jobCreated: () => void jobs++,
    polled: log.polled,
    snapshot: (running) => ({ streamsServed, jobs, running, ...log.snapshot() }),
    reset() {
      streamsServed = 0;
      jobs = 0;
      log.reset();
    },
  };
}
