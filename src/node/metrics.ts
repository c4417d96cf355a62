import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { PublishedRelay } from '../core/publish/relay.ts';
import type { Relay } from '../core/relay.ts';
import type { RelayStats } from '../core/stats.ts';

const COUNTERS: Record<keyof RelayStats, string> = {
  eventsAppended: 'Upstream events stored on the bus by this instance',
  eventsMalformed: 'Upstream data lines skipped because they were not valid events',
  eventsDuplicate: 'Live events dropped as duplicate or out of order',
  gaps: 'Gap frames sent because history was trimmed or unreadable',
  subscribersDropped: 'Subscribers dropped for being too slow or failing writes',
  upstreamStreams: 'Upstream job streams opened by this instance',
  jobsCreated: 'Jobs created through this instance',
};

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** What metrics read of a relay: its counters and counts, under its profile's name. */
type MetricsRelay = Pick<Relay, 'stats' | 'counts'> & { profile: { name: string } };

/**
 * Prometheus metrics of one instance, read from every profile's relay when scraped, labelled `profile`;
 * a publisher namespace's relay (`published`) is labelled with the namespace.
 */
export function createMetrics(
  profiles: readonly MetricsRelay[],
  published: readonly PublishedRelay[] = [],
): { contentType: string; render(): Promise<string> } {
  const relays: MetricsRelay[] = [
    ...profiles,
    ...published.map((relay) => ({ profile: { name: relay.namespace }, stats: relay.stats, counts: () => relay.counts() })),
  ];
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sse_relay_' });
  const labelNames = ['profile'] as const;
  for (const [key, help] of Object.entries(COUNTERS) as [keyof RelayStats, string][]) {
    new Counter({
      name: `sse_relay_${snake(key)}_total`,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const relay of relays) this.inc({ profile: relay.profile.name }, relay.stats[key]);
      },
    });
  }
  new Gauge({
    name: 'sse_relay_subscribers',
    help: 'SSE subscribers connected to this instance',
    labelNames,
    registers: [registry],
    collect() {
      for (const relay of relays) this.set({ profile: relay.profile.name }, relay.counts().subscribers);
    },
  });
  new Gauge({
    name: 'sse_relay_jobs_followed',
    help: 'Jobs whose upstream this instance follows now',
    labelNames,
    registers: [registry],
    collect() {
      for (const relay of relays) this.set({ profile: relay.profile.name }, relay.counts().followed.length);
    },
  });
  return { contentType: registry.contentType, render: () => registry.metrics() };
}
