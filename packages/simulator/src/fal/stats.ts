import { MAX_RECORDED_REQUESTS } from '../stats.ts';
import type { SimRequest } from '../stats.ts';

/** What `GET /_sim/fal/stats` returns; counters start again after `POST /_sim/reset`. */
export interface FalStats {
  /** Submits that passed auth, accepted or rejected by `--sim-status`. */
  submits: number;
  /** Status streams opened (200 answers). */
  streamsServed: number;
  /** `GET …/status` calls per request id. */
  statusPolls: Record<string, number>;
  /** `GET …/requests/<id>` calls per request id. */
  resultFetches: Record<string, number>;
  /** The last requests under `/fal/queue`, oldest first. */
  requests: SimRequest[];
  /** Requests holding a runner slot now (not reset). */
  running: number;
  /** Requests waiting for a slot now (not reset). */
  queued: number;
}

/** Counts what the fal simulator served. */
export interface FalStatsRecorder {
  request(method: string, path: string, at: number): void;
  submitted(): void;
  streamOpened(): void;
  polled(requestId: string): void;
  resultFetched(requestId: string): void;
  snapshot(running: number, queued: number): FalStats;
  reset(): void;
}

/** Creates a recorder with zeroed counters. */
export function createFalStatsRecorder(): FalStatsRecorder {
  let submits = 0;
  let streamsServed = 0;
  let requests: SimRequest[] = [];
  let polls = new Map<string, number>();
  let fetches = new Map<string, number>();
  const count = (counts: Map<string, number>, id: string) => void counts.set(id, (counts.get(id) ?? 0) + 1);
  return {
    request(method, path, at) {
      requests.push({ method, path, at: new Date(at).toISOString() });
      if (requests.length > MAX_RECORDED_REQUESTS) requests.shift();
    },
    submitted: () => void submits++,
    streamOpened: () => void streamsServed++,
    polled: (id) => count(polls, id),
    resultFetched: (id) => count(fetches, id),
    snapshot: (running, queued) => ({
      submits,
      streamsServed,
      statusPolls: Object.fromEntries(polls),
      resultFetches: Object.fromEntries(fetches),
      requests: [...requests],
      running,
      queued,
    }),
    reset() {
      submits = 0;
      streamsServed = 0;
      requests = [];
      polls = new Map();
      fetches = new Map();
    },
  };
}
