/** What a scenario needs from a running relay, whatever the runtime behind `url`. */
export interface ScenarioTarget {
  url: string;
  /** Base URL of the upstream simulator the relay uses (jobs can be created on it directly). */
  simulatorUrl: string;
  simStats(): Promise<{ streamsServed: number; jobs: number; running: number; polls: Record<string, number> }>;
  /** Malformed upstream events the relay has skipped so far, where the runtime exposes its counters. */
  malformedCount?(): number;
}
