import type { SubscriberLimits } from '../http/limits.ts';

/**
 * Subscriber slots that free themselves after `maxHoldMs`. When a client goes away, Workers
 * may tear its invocation down without running any cleanup (no cancel, no timers), so a slot
 * could leak; no stream outlives MAX_STREAM_MS (and the front's backstop), so an older slot belongs to a dead one.
 * Expired slots are swept on every use, no timer needed.
 */
export function expiringSlots(inner: SubscriberLimits, maxHoldMs: number, now: () => number = Date.now): SubscriberLimits {
  const held = new Set<{ until: number; release: () => void }>();
  function sweep(): void {
    const t = now();
    for (const slot of held) {
      if (slot.until > t) continue;
      held.delete(slot);
      slot.release();
    }
  }
  return {
    acquire(ip) {
      sweep();
      const slot = { until: now() + maxHoldMs, release: inner.acquire(ip) };
      held.add(slot);
      return () => {
        if (held.delete(slot)) slot.release();
      };
    },
    get total() {
      sweep();
      return inner.total;
    },
    countFor(ip) {
      sweep();
      return inner.countFor(ip);
    },
  };
}
