/**
 * Counters the core keeps, plain numbers in objects resolved once per relay and hub (no lookup per
 * delivery); runtimes read them when scraped (Prometheus on Node: src/node/metrics.ts).
 */

/** Why a subscription ended: the job's terminal event, the client left, it fell behind, or the gateway ended it (drain, shutdown, a stream-length cut). */
export const END_REASONS = ['job_ended', 'client_gone', 'slow_consumer', 'server_closed'] as const;
export type EndReason = (typeof END_REASONS)[number];

/** Bus operations whose failures are counted (the leases' four calls as one). */
export const BUS_OPS = ['append', 'publish', 'history', 'state', 'subscribe', 'lease'] as const;
export type BusOp = (typeof BUS_OPS)[number];

/** Upper bounds of the delivery lag histogram's buckets, in seconds. */
export const LAG_BUCKETS_S: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A histogram of plain numbers: `counts[i]` observations ≤ `buckets[i]` and above the bucket before (the last one: above every bound). */
export interface Histogram {
  readonly buckets: readonly number[];
  readonly counts: number[];
  sum: number;
  count: number;
}

export function createHistogram(buckets: readonly number[]): Histogram {
  return { buckets, counts: new Array<number>(buckets.length + 1).fill(0), sum: 0, count: 0 };
}

/** Adds one observation (a linear walk over a dozen bounds: no allocation, no lookup). */
export function observe(histogram: Histogram, value: number): void {
  const { buckets, counts } = histogram;
  let i = 0;
  while (i < buckets.length && value > (buckets[i] as number)) i++;
  counts[i] = (counts[i] as number) + 1;
  histogram.sum += value;
  histogram.count++;
}

/** What a job's hub counts: its subscribers' frames, bytes and ends, and the delivery lag. */
export interface HubStats {
  /** Event frames written to subscribers, live and replayed. */
  eventsDelivered: number;
  /** Bytes the hubs wrote to subscribers: event, gap and heartbeat frames. */
  bytesSent: number;
  /** Event frames written as a subscriber's replay (part of eventsDelivered). */
  eventsReplayed: number;
  /** Gaps announced to subscribers (one per hole a hub or a replay saw). */
  gaps: number;
  /** Live events dropped as duplicate or out of order. */
  eventsDuplicate: number;
  /** Subscribers dropped for being too slow or failing writes. */
  subscribersDropped: number;
  /** Subscriptions ended, by reason. */
  ended: Record<EndReason, number>;
  /** Seconds from upstream receive to the write to subscribers, for live events this instance received and delivered. */
  lag: Histogram;
}

/** What a job's follower counts: what it reads upstream. */
export interface FollowStats {
  /** Events read from the upstream (its stream, or a poll's change). */
  eventsReceived: number;
  /** Upstream streams opened (a create's, a job's stream, each resume). */
  upstreamStreams: number;
  /** Upstream streams being read now. */
  upstreamStreamsOpen: number;
  /** Status polls sent upstream. */
  upstreamPolls: number;
  /** Streams reopened after a drop (resumes that answered a stream). */
  upstreamResumes: number;
  eventsMalformed: number;
}

/** Every counter of one profile's relay on one instance. */
export interface RelayStats extends HubStats, FollowStats {
  /** Events stored on the bus by this instance. */
  eventsAppended: number;
  jobsCreated: number;
  /** Bus operations that failed, by operation. */
  busErrors: Record<BusOp, number>;
}

const zeros = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;

export function createStats(): RelayStats {
  return {
    eventsReceived: 0,
    eventsAppended: 0,
    eventsMalformed: 0,
    eventsDuplicate: 0,
    eventsDelivered: 0,
    bytesSent: 0,
    eventsReplayed: 0,
    gaps: 0,
    subscribersDropped: 0,
    ended: zeros(END_REASONS),
    lag: createHistogram(LAG_BUCKETS_S),
    upstreamStreams: 0,
    upstreamStreamsOpen: 0,
    upstreamPolls: 0,
    upstreamResumes: 0,
    jobsCreated: 0,
    busErrors: zeros(BUS_OPS),
  };
}
