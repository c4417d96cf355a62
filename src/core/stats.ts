/** Counters the core keeps; runtimes export them (Prometheus on Node). */
export interface RelayStats {
  eventsAppended: number;
  eventsMalformed: number;
  eventsDuplicate: number;
  gaps: number;
  subscribersDropped: number;
  upstreamStreams: number;
  jobsCreated: number;
}

export function createStats(): RelayStats {
  return {
    eventsAppended: 0,
    eventsMalformed: 0,
    eventsDuplicate: 0,
    gaps: 0,
    subscribersDropped: 0,
    upstreamStreams: 0,
    jobsCreated: 0,
  };
}
