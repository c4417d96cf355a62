import { type SimRequest, createRequestLog } from '../stats.ts';

/** What `GET /_sim/replicate/stats` returns; counters start again after `POST /_sim/reset`. */
export interface ReplicateStats {
  /** Creates that passed auth, accepted or rejected by `--sim-status`. */
  creates: number;
  /** Prediction streams opened (200 answers). */
  streamsServed: number;
  /** `GET /predictions/<id>` calls per prediction id. */
  polls: Record<string, number>;
  /** `POST /predictions/<id>/cancel` calls. */
  cancels: number;
  /** The last requests under `/replicate`, oldest first. */
  requests: SimRequest[];
  /** Predictions not yet over (not reset). */
  running: number;
}

/** Counts what the Replicate simulator served. */
export interface ReplicateStatsRecorder {
  request(method: string, path: string, at: number): void;
  created(): void;
  streamOpened(): void;
  polled(id: string): void;
  cancelled(): void;
  snapshot(running: number): ReplicateStats;
  reset(): void;
}

/** Creates a recorder with zeroed counters. */
export function createReplicateStats(): ReplicateStatsRecorder {
  let creates = 0;
  let streamsServed = 0;
  let cancels = 0;
  const log = createRequestLog();
  return {
    request: log.request,
    created: () => void creates++,
    streamOpened: () => void streamsServed++,
    polled: log.polled,
    cancelled: () => void cancels++,
    snapshot: (running) => ({ creates, streamsServed, cancels, running, ...log.snapshot() }),
    reset() {
      creates = 0;
      streamsServed = 0;
      cancels = 0;
      log.reset();
    },
  };
}
