import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import { createHubRegistry, type HubRegistry } from '../../../src/core/fanout/hubs.ts';
import { until } from '../../support/until.ts';

// The hub registry: one hub per job while someone holds it, kept a linger after the last release.

const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
let registry: HubRegistry | undefined;
afterEach(async () => {
  await registry?.close();
  registry = undefined;
});

function start(lingerMs: number): HubRegistry {
  registry = createHubRegistry({ bus, historyMaxEvents: 100, lingerMs, heartbeatMs: 60_000 });
  return registry;
}

describe('hub registry', () => {
  it('shares one hub per job among its holders and drops it when the last lets go (no linger)', () => {
    const hubs = start(0);
    const first = hubs.acquire('j1');
    const second = hubs.acquire('j1');
    expect(second.hub).toBe(first.hub);
    expect(hubs.acquire('j2').hub).not.toBe(first.hub);
    first.release();
    // A second release of the same lease counts for nothing: the other holder still keeps the hub.
    first.release();
    const third = hubs.acquire('j1');
    expect(third.hub).toBe(first.hub);
    second.release();
    third.release();
    expect(hubs.acquire('j1').hub).not.toBe(first.hub);
  });

  it('keeps an unheld hub for its linger, then closes it', async () => {
    const hubs = start(1);
    const held = hubs.acquire('j1');
    await held.hub.ready();
    let closed = false;
    held.hub.onEnd(() => {
      closed = true;
    });
    held.release();
    await until(
      () => closed,
      (done) => done,
    );
    expect(held.hub.terminalSeq).toBeNull();
    expect(hubs.acquire('j1').hub).not.toBe(held.hub);
  });

  it('gives a lingering hub back to the next holder, cache and all', async () => {
    const hubs = start(60_000);
    await bus.append('j3', { seq: 0, data: 'e0', terminal: false });
    const held = hubs.acquire('j3');
    await held.hub.ready();
    held.release();
    const again = hubs.acquire('j3');
    expect(again.hub).toBe(held.hub);
    expect(again.hub.lastSeq).toBe(0);
    again.release();
  });
});
