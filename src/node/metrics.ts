import { Counter, Gauge, type Metric, Registry, collectDefaultMetrics } from 'prom-client';
import type { HttpCounters } from '../http/http-counters.ts';
import type { Relay } from '../core/relay.ts';
import type { PublishedRelay } from '../core/publish/relay.ts';
import { BUS_OPS, END_REASONS, type RelayStats } from '../core/stats.ts';

/** A publisher namespace's relay as the metrics read it: labelled `profile` with the namespace. */
export function metricsView(relay: PublishedRelay): Pick<Relay, 'profile' | 'stats' | 'counts'> {
  return { profile: { name: relay.namespace } as Relay['profile'], stats: relay.stats, counts: () => relay.counts() };
}

/** What the metrics read when scraped: every profile's relay, the app's request counters, each profile's create queue. */
export interface MetricsSources {
  relays: readonly Pick<Relay, 'profile' | 'stats' | 'counts'>[];
  http?: HttpCounters;
  /** Callers of this instance waiting in each profile's create queue, by profile name. */
  queues?: ReadonlyMap<string, { waiting(): number }>;
}

/** Per-profile counters read from the relays' stats (docs/operations/metrics.md says what each means). */
const PROFILE_COUNTERS: [name: string, help: string, read: (stats: RelayStats) => number][] = [
  [
    'events_received_total',
    'Events this instance read from the upstream (its streams, and polls that found a change)',
    (s) => s.eventsReceived,
  ],
  ['events_appended_total', 'Upstream events stored on the bus by this instance', (s) => s.eventsAppended],
  ['events_malformed_total', 'Upstream data lines skipped because they were not valid events', (s) => s.eventsMalformed],
  ['events_duplicate_total', 'Live events a hub dropped as duplicate or out of order', (s) => s.eventsDuplicate],
  ['events_delivered_total', 'Event frames written to subscribers, live and replayed', (s) => s.eventsDelivered],
  ['events_replayed_total', 'Event frames written to subscribers as their replay (part of events_delivered)', (s) => s.eventsReplayed],
  ['bytes_sent_total', 'Bytes written to subscribers by the hubs: event, gap and heartbeat frames', (s) => s.bytesSent],
  ['gap_frames_total', 'Gaps announced to subscribers because history was trimmed or lost', (s) => s.gaps],
  ['slow_consumer_drops_total', 'Subscribers dropped for falling too far behind or failing writes', (s) => s.subscribersDropped],
  ['upstream_streams_total', 'Upstream job streams opened by this instance (creates, job streams, resumes)', (s) => s.upstreamStreams],
  ['upstream_polls_total', 'Job status polls this instance sent upstream', (s) => s.upstreamPolls],
  ['upstream_resumes_total', 'Upstream streams this instance reopened after a drop', (s) => s.upstreamResumes],
  ['jobs_created_total', 'Jobs created through this instance', (s) => s.jobsCreated],
];

/** Prometheus metrics of one instance, read from the sources when scraped: nothing is counted through prom-client on the hot path. */
export function createMetrics(sources: MetricsSources): { contentType: string; render(): Promise<string> } {
  const { relays } = sources;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sse_relay_' });
  const registers = [registry];
  const profileLabel = ['profile'] as const;
  const each = (read: (relay: (typeof relays)[number]) => void) => {
    for (const relay of relays) read(relay);
  };

  for (const [name, help, read] of PROFILE_COUNTERS) {
    new Counter({
      name: `sse_relay_${name}`,
      help,
      labelNames: profileLabel,
      registers,
      collect() {
        this.reset();
        each((relay) => this.inc({ profile: relay.profile.name }, read(relay.stats)));
      },
    });
  }
  new Counter({
    name: 'sse_relay_subscriptions_ended_total',
    help: 'Subscriptions ended, by reason: job_ended, client_gone, slow_consumer, server_closed (drain, shutdown, stream cut)',
    labelNames: ['profile', 'reason'],
    registers,
    collect() {
      this.reset();
      each((relay) => {
        for (const reason of END_REASONS) this.inc({ profile: relay.profile.name, reason }, relay.stats.ended[reason]);
      });
    },
  });
  new Counter({
    name: 'sse_relay_bus_errors_total',
    help: 'Bus operations that failed, by operation (append, history, state, subscribe, lease)',
    labelNames: ['op'],
    registers,
    collect() {
      this.reset();
      for (const op of BUS_OPS) {
        let sum = 0;
        each((relay) => void (sum += relay.stats.busErrors[op]));
        this.inc({ op }, sum);
      }
    },
  });

  new Gauge({
    name: 'sse_relay_subscribers',
    help: 'SSE subscribers connected to this instance',
    labelNames: profileLabel,
    registers,
    collect() {
      each((relay) => this.set({ profile: relay.profile.name }, relay.counts().subscribers));
    },
  });
  new Gauge({
    name: 'sse_relay_jobs_followed',
    help: 'Jobs whose upstream this instance follows now (streaming or polling)',
    labelNames: profileLabel,
    registers,
    collect() {
      each((relay) => this.set({ profile: relay.profile.name }, relay.counts().followed.length));
    },
  });
  new Gauge({
    name: 'sse_relay_upstream_streams_open',
    help: 'Upstream job streams this instance is reading now',
    labelNames: profileLabel,
    registers,
    collect() {
      each((relay) => this.set({ profile: relay.profile.name }, relay.stats.upstreamStreamsOpen));
    },
  });
  new Gauge({
    name: 'sse_relay_create_queue_waiting',
    help: "Callers of this instance waiting in the profile's create queue",
    labelNames: profileLabel,
    registers,
    collect() {
      each((relay) => this.set({ profile: relay.profile.name }, sources.queues?.get(relay.profile.name)?.waiting() ?? 0));
    },
  });

  registry.registerMetric(lagHistogram(relays));

  const { http } = sources;
  if (http) {
    new Counter({
      name: 'sse_relay_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status (a stream counts when its head goes out)',
      labelNames: ['route', 'method', 'status'],
      registers,
      collect() {
        this.reset();
        for (const { route, method, status, count } of http.requests()) this.inc({ route, method, status }, count);
      },
    });
    new Counter({
      name: 'sse_relay_rejections_total',
      help: 'Requests the gateway refused itself, by its error code (bad_request, unauthorized, forbidden, not_found, payload_too_large, rate_limited, unavailable, queue_full, queue_timeout)',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of http.rejections()) this.inc({ reason }, count);
      },
    });
  }
  return { contentType: registry.contentType, render: () => registry.metrics() };
}

const LAG = 'sse_relay_delivery_lag_seconds';

/**
 * The delivery lag as a Prometheus histogram, read from the relays' plain bucket counts: a
 * metric of our own (prom-client's Histogram takes observations one by one; ours are counted in the core).
 */
function lagHistogram(relays: MetricsSources['relays']): Metric {
  const help = 'Seconds from receiving an event upstream to writing it to subscribers, on the instance that follows the job';
  const metric = {
    name: LAG,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const relay of relays) {
        const profile = relay.profile.name;
        const { buckets, counts, sum, count } = relay.stats.lag;
        let cumulative = 0;
        buckets.forEach((bound, i) => {
          cumulative += counts[i] as number;
          values.push({ metricName: `${LAG}_bucket`, labels: { le: bound, profile }, value: cumulative });
        });
        values.push({ metricName: `${LAG}_bucket`, labels: { le: '+Inf', profile }, value: count });
        values.push({ metricName: `${LAG}_sum`, labels: { profile }, value: sum });
        values.push({ metricName: `${LAG}_count`, labels: { profile }, value: count });
      }
      return { name: LAG, help, type: 'histogram', values, aggregator: 'sum' };
    },
    reset() {},
  };
  return metric as unknown as Metric;
}
