import type { AppendInput, Bus } from './bus.ts';

/**
 * One profile's view of the shared bus: job `<id>` is stored, published and leased as
 * `<prefix><id>` (e.g. `midjourney-v3:j123`), so profiles never share a key. Closing the view
 * leaves the shared bus open (its owner closes it).
 */
export function scopedBus(bus: Bus, prefix: string): Bus {
  const key = (jobId: string) => prefix + jobId;
  return {
    ...(bus.dataSince ? { dataSince: () => bus.dataSince!() } : {}),
    append: (jobId, event) => bus.append(key(jobId), event),
    ...(bus.appendMany ? { appendMany: (jobId: string, events: AppendInput[]) => bus.appendMany!(key(jobId), events) } : {}),
    history: (jobId, afterSeq) => bus.history(key(jobId), afterSeq),
    state: (jobId) => bus.state(key(jobId)),
    subscribe: (jobId, listener) => bus.subscribe(key(jobId), listener),
    acquireLease: (jobId, owner, ttlMs) => bus.acquireLease(key(jobId), owner, ttlMs),
    renewLease: (jobId, owner, ttlMs) => bus.renewLease(key(jobId), owner, ttlMs),
    claimLease: (jobId, owner, ttlMs) => bus.claimLease(key(jobId), owner, ttlMs),
    releaseLease: (jobId, owner) => bus.releaseLease(key(jobId), owner),
    ping: () => bus.ping(),
    close: async () => {},
  };
}
