import type { AppendInput, Bus } from './bus.ts';
import type { BusOp } from '../stats.ts';

/** What a profile's view of the bus reports (for the relay's metrics): events it stored, operations that failed. */
export interface ProfileBusObserver {
  /** Called after an append or a batch stored `count` (> 0) new events. */
  onStored?(count: number): void;
  /** Called when a bus operation failed (the error goes on to the caller as it was). */
  onError?(op: BusOp): void;
}

/**
 * One profile's view of the shared bus, the only wrapper around it: job `<id>` is stored,
 * published and leased as `<prefix><id>` (e.g. `midjourney-v3:j123`), so profiles never share
 * a key, every stored event is reported once, and every failed operation too. Closing the view
 * leaves the shared bus open (its owner closes it).
 */
export function profileBus(bus: Bus, prefix: string, observer: ProfileBusObserver = {}): Bus {
  const key = (jobId: string) => prefix + jobId;
  const report = (count: number) => {
    if (count > 0) observer.onStored?.(count);
  };
  /** Runs one bus call, reporting its failure under `op`. */
  const counted = <T>(op: BusOp, call: Promise<T>): Promise<T> =>
    call.catch((err: unknown) => {
      observer.onError?.(op);
      throw err;
    });
  return {
    async append(jobId, event) {
      const stored = await counted('append', bus.append(key(jobId), event));
      report(stored ? 1 : 0);
      return stored;
    },
    ...(bus.appendMany
      ? {
          async appendMany(jobId: string, events: AppendInput[]) {
            const stored = await counted('append', bus.appendMany!(key(jobId), events));
            report(stored.filter((event) => event !== null).length);
            return stored;
          },
        }
      : {}),
    async publish(jobId, events) {
      const outcome = await counted('publish', bus.publish(key(jobId), events));
      report(outcome.kind === 'stored' ? outcome.stored.length : 0);
      return outcome;
    },
    history: (jobId, afterSeq) => counted('history', bus.history(key(jobId), afterSeq)),
    state: (jobId) => counted('state', bus.state(key(jobId))),
    subscribe: (jobId, listener) => counted('subscribe', bus.subscribe(key(jobId), listener)),
    acquireLease: (jobId, owner, ttlMs) => counted('lease', bus.acquireLease(key(jobId), owner, ttlMs)),
    renewLease: (jobId, owner, ttlMs) => counted('lease', bus.renewLease(key(jobId), owner, ttlMs)),
    claimLease: (jobId, owner, ttlMs) => counted('lease', bus.claimLease(key(jobId), owner, ttlMs)),
    releaseLease: (jobId, owner) => counted('lease', bus.releaseLease(key(jobId), owner)),
    ping: () => bus.ping(),
    ...(bus.dataSince ? { dataSince: () => bus.dataSince!() } : {}),
    close: async () => {},
  };
}
