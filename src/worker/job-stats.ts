import type { RelayStats } from '../core/stats.ts';

/**
 * One job's counters as its `job stats` log line carries them (Workers have no `/metrics`: Workers
 * Logs sums these by field). Counted since the object last loaded the job into memory.
 */
export function jobStatsFields(stats: RelayStats) {
  return {
    eventsReceived: stats.eventsReceived,
    eventsAppended: stats.eventsAppended,
    eventsDelivered: stats.eventsDelivered,
    eventsReplayed: stats.eventsReplayed,
    bytesSent: stats.bytesSent,
    gaps: stats.gaps,
    subscribersDropped: stats.subscribersDropped,
    eventsDuplicate: stats.eventsDuplicate,
    eventsMalformed: stats.eventsMalformed,
    ended: { ...stats.ended },
    lag: { count: stats.lag.count, sumS: stats.lag.sum },
    upstreamStreams: stats.upstreamStreams,
    upstreamPolls: stats.upstreamPolls,
    upstreamResumes: stats.upstreamResumes,
    busErrors: { ...stats.busErrors },
  };
}
