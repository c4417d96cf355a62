import type { AppendInput, Bus } from './bus.ts';

/** What a profile's view of the bus reports: events it stored (for the relay's metrics). */
export interface ProfileBusObserver {
  /** Called after an append or a batch stored `count` (> 0) new events. */
  onStored?(count: number): void;
}

/**
 * One profile's view of the shared bus, the only wrapper around it: job `<id>` is stored,
 * published and leased as `<prefix><id>` (e.g. `midjourney-v3:j123`), so profiles never share
 * a key, and every stored event is reported once. Closing the view leaves the shared bus open
 * (its owner closes it).
 */
export function profileBus(bus: Bus, prefix: string, observer: ProfileBusObserver = {}): Bus {
  const key = (jobId: string) => prefix + jobId;
  const report = (count: number) => {
    if (count > 0) observer.onStored?.(count);
  };
  return {
    async append(jobId, event) {
      const stored = await bus.append(key(jobId), event);
      report(stored ? 1 : 0);
      return stored;
    },
    ...(bus.appendMany
      ? {
          async appendMany(jobId: string, events: AppendInput[]) {
            const stored = await bus.appendMany!(key(jobId), events);
            report(stored.filter((event) => event !== null).length);
            return stored;
          },
        }
      : {}),
    async publish(jobId, events) {
      const outcome = await bus.publish(key(jobId), events);
      report(outcome.kind === 'stored' ? outcome.stored.length : 0);
      return outcome;
    },
    history: (jobId, afterSeq) => bus.history(key(jobId), afterSeq),
    state: (jobId) => bus.state(key(jobId)),
    subscribe: (jobId, listener) => bus.subscribe(key(jobId), listener),
    acquireLease: (jobId, owner, ttlMs) => bus.acquireLease(key(jobId), owner, ttlMs),
    renewLease: (jobId, owner, ttlMs) => bus.renewLease(key(jobId), owner, ttlMs),
    claimLease: (jobId, owner, ttlMs) => bus.claimLease(key(jobId), owner, ttlMs),
    releaseLease: (jobId, owner) => bus.releaseLease(key(jobId), owner),
    ping: () => bus.ping(),
    ...(bus.dataSince ? { dataSince: () => bus.dataSince!() } : {}),
    close: async () => {},
  };
}
