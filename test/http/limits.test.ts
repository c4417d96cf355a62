import { describe, expect, it } from 'vitest';
import { RelayError } from '../../src/core/errors.ts';
import { createRateLimiter, createSubscriberLimits } from '../../src/http/limits.ts';

function thrown(fn: () => unknown): RelayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RelayError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('createRateLimiter', () => {
  it('allows a burst of perMinute, then refills one every 60/perMinute seconds, per id', () => {
    let now = 0;
    const limiter = createRateLimiter({ perMinute: 6, now: () => now });
    for (let i = 0; i < 6; i++) limiter.take('key-1');
    const err = thrown(() => limiter.take('key-1'));
    expect(err.code).toBe('rate_limited');
    expect(err.status).toBe(429);
    expect(err.retryAfterS).toBe(10);
    limiter.take('key-2');
    now += 9_000;
    expect(thrown(() => limiter.take('key-1')).retryAfterS).toBe(1);
    now += 1_000;
    limiter.take('key-1');
  });

  it('0 means no limit: with the clock stopped, a thousand takes in a row all pass, where 1 per minute refuses the second', () => {
    const stopped = () => 0;
    const unlimited = createRateLimiter({ perMinute: 0, now: stopped });
    for (let i = 0; i < 1000; i++) expect(() => unlimited.take('k')).not.toThrow();
    const one = createRateLimiter({ perMinute: 1, now: stopped });
    one.take('k');
    expect(thrown(() => one.take('k')).code).toBe('rate_limited');
  });
});

describe('createSubscriberLimits', () => {
  it('caps per IP (429) and in total (503), with Retry-After; release is idempotent', () => {
    const limits = createSubscriberLimits({ max: 3, maxPerIp: 2, retryAfterS: 7 });
    const a1 = limits.acquire('a');
    limits.acquire('a');
    const perIp = thrown(() => limits.acquire('a'));
    expect([perIp.status, perIp.retryAfterS]).toEqual([429, 7]);
    limits.acquire('b');
    const total = thrown(() => limits.acquire('c'));
    expect([total.status, total.code, total.retryAfterS]).toEqual([503, 'unavailable', 7]);
    a1();
    a1();
    expect(limits.total).toBe(2);
    expect(limits.countFor('a')).toBe(1);
    limits.acquire('c');
    expect(limits.total).toBe(3);
  });
});
