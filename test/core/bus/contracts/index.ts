import type { Bus } from '../../../../src/core/bus/bus.ts';
import { eventLogContract } from './event-log.ts';
import { healthContract } from './health.ts';
import { leasesContract } from './leases.ts';
import { liveFeedContract } from './live-feed.ts';
import type { PortPair } from './pair.ts';
import { publishingContract } from './publishing.ts';

export { CONTRACT_RETENTION, type PortPair } from './pair.ts';
export { eventLogContract, healthContract, leasesContract, liveFeedContract, publishingContract };

/** Runs the contract of every port against a whole bus: event log, live feed, leases, health, publishing. */
export function busContracts(name: string, open: () => Promise<PortPair<Bus>>): void {
  eventLogContract(name, open);
  liveFeedContract(name, open);
  leasesContract(name, open);
  healthContract(name, open);
  publishingContract(name, open);
}
