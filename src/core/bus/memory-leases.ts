import type { Leases } from './bus.ts';

/** Follow leases kept in this process's memory (one process, or one Durable Object). */
export type LeaseTable = Leases & {
  /** Drops expired leases. */
  sweep(): void;
  clear(): void;
};

export function createLeaseTable(now: () => number): LeaseTable {
  const leases = new Map<string, { owner: string; expiresAt: number }>();

  function heldBy(jobId: string) {
    const lease = leases.get(jobId);
    if (lease && lease.expiresAt <= now()) {
      leases.delete(jobId);
      return undefined;
    }
    return lease;
  }

  return {
    async acquireLease(jobId, owner, ttlMs) {
      const lease = heldBy(jobId);
      if (lease && lease.owner !== owner) return false;
      leases.set(jobId, { owner, expiresAt: now() + ttlMs });
      return true;
    },
    async renewLease(jobId, owner, ttlMs) {
      const lease = heldBy(jobId);
      if (!lease || lease.owner !== owner) return false;
      lease.expiresAt = now() + ttlMs;
      return true;
    },
    async claimLease(jobId, owner, ttlMs) {
      leases.set(jobId, { owner, expiresAt: now() + ttlMs });
    },
    async releaseLease(jobId, owner) {
      if (heldBy(jobId)?.owner === owner) leases.delete(jobId);
    },
    sweep() {
      const t = now();
      for (const [id, lease] of leases) if (lease.expiresAt <= t) leases.delete(id);
    },
    clear() {
      leases.clear();
    },
  };
}

/** The table's `Leases` port alone, for a bus to offer as its own. */
export function leasePort(table: LeaseTable): Leases {
  const { acquireLease, renewLease, claimLease, releaseLease } = table;
  return { acquireLease, renewLease, claimLease, releaseLease };
}
