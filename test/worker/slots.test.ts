import { describe, expect, it } from 'vitest';
import { createSubscriberLimits } from '../../src/http/limits.ts';
import { expiringSlots } from '../../src/worker/slots.ts';

describe('expiringSlots', () => {
  it('frees a slot never released once it is older than the cap, and releases once', () => {
    let t = 0;
    const slots = expiringSlots(createSubscriberLimits({ max: 10, maxPerIp: 1 }), 1000, () => t);
    const release = slots.acquire('1.2.3.4');
    expect(() => slots.acquire('1.2.3.4')).toThrow(/too many open streams/);
    t = 999;
    expect(slots.countFor('1.2.3.4')).toBe(1);
    t = 1000;
    expect(slots.countFor('1.2.3.4')).toBe(0);
    const next = slots.acquire('1.2.3.4');
    release();
    expect(slots.total).toBe(1);
    next();
    next();
    expect(slots.total).toBe(0);
  });
});
