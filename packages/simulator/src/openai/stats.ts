import { createStatsRecorder } from '../stats.ts';
import type { SimRequest } from '../stats.ts';

/** What `GET /_sim/openai/stats` returns; counters start again after `POST /_sim/reset`. */
export interface OpenAIStats {
  /** Event streams opened: streaming creates and GET `?stream=true` resumes. */
  streamsServed: number;
  /** Responses created (streamed or not). */
  responses: number;
  /** `GET /responses/<id>` polls (not streams) per response id. */
  polls: Record<string, number>;
  /** The last requests to `/openai/v1`, oldest first. */
  requests: SimRequest[];
  /** GET `?stream=true` streams served. */
  resumes: number;
}

/** Counts what the OpenAI part served. */
export interface OpenAIStatsRecorder {
  request(method: string, path: string, at: number): void;
  streamOpened(): void;
  responseCreated(): void;
  polled(id: string): void;
  resumed(): void;
  snapshot(): OpenAIStats;
  reset(): void;
}

/** Creates a recorder with zeroed counters (the Midjourney recorder keeps requests, streams and polls). */
export function createOpenAIStats(): OpenAIStatsRecorder {
  const base = createStatsRecorder();
  let resumes = 0;
  return {
    request: base.request,
    streamOpened: base.streamOpened,
    responseCreated: base.jobCreated,
    polled: base.polled,
    resumed: () => void resumes++,
    snapshot() {
      const { streamsServed, jobs, polls, requests } = base.snapshot(0);
      return { streamsServed, responses: jobs, polls, requests, resumes };
    },
    reset() {
      base.reset();
      resumes = 0;
    },
  };
}
