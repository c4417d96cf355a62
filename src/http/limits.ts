import { RelayError } from '../core/errors.ts';

/** Most distinct callers a limiter tracks; beyond it the stalest entries are forgotten. */
const MAX_TRACKED = 100_000;

/** Job creations per caller: a token bucket of `perMinute` refilled continuously. */
export interface RateLimiter {
  /** Takes one token for `id`, or throws `rate_limited` with the seconds until one is back. */
  take(id: string): void;
}

/** `perMinute` job creations (the default `what`), or `perSecond` of something else, per caller. */
export function createRateLimiter(
  options: ({ perMinute: number } | { perSecond: number; what: string }) & { now?: () => number },
): RateLimiter {
  const now = options.now ?? Date.now;
  const [capacity, windowMs, unit] = 'perSecond' in options ? [options.perSecond, 1000, 'second'] : [options.perMinute, 60_000, 'minute'];
  const what = 'what' in options ? options.what : 'job creation';
  const perMs = capacity / windowMs;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(id) {
      if (capacity <= 0) return;
      const t = now();
      const bucket = buckets.get(id) ?? { tokens: capacity, at: t };
      bucket.tokens = Math.min(capacity, bucket.tokens + (t - bucket.at) * perMs);
      bucket.at = t;
      buckets.delete(id);
      buckets.set(id, bucket);
      if (buckets.size > MAX_TRACKED) buckets.delete(buckets.keys().next().value as string);
      if (bucket.tokens < 1) {
        const retryAfterS = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
        throw new RelayError('rate_limited', `${what} rate exceeded (${capacity} per ${unit})`, { retryAfterS });
      }
      bucket.tokens -= 1;
    },
  };
}

/** Open SSE streams, in total and per client IP; 0 means no cap. */
export interface SubscriberLimits {
  /** Claims a slot or throws (503 when the instance is full, 429 when the IP is); release on every disconnect path. */
  acquire(ip: string): () => void;
  readonly total: number;
  countFor(ip: string): number;
}

export function createSubscriberLimits(options: { max: number; maxPerIp: number; retryAfterS?: number }): SubscriberLimits {
  const retryAfterS = options.retryAfterS ?? 5;
  const perIp = new Map<string, number>();
  let total = 0;
  return {
    acquire(ip) {
      if (options.max > 0 && total >= options.max) {
        throw new RelayError('unavailable', 'too many subscribers on this instance', { retryAfterS });
      }
      const mine = perIp.get(ip) ?? 0;
      if (options.maxPerIp > 0 && mine >= options.maxPerIp) {
        throw new RelayError('rate_limited', `too many open streams from this address (${options.maxPerIp})`, { retryAfterS });
      }
      total++;
      perIp.set(ip, mine + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        total--;
        const left = (perIp.get(ip) ?? 1) - 1;
        if (left > 0) perIp.set(ip, left);
        else perIp.delete(ip);
      };
    },
    get total() {
      return total;
    },
    countFor: (ip) => perIp.get(ip) ?? 0,
  };
}
