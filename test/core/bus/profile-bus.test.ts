import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import { profileBus } from '../../../src/core/bus/profile-bus.ts';

describe("a profile's view of the shared bus", () => {
  it('stores, publishes and leases a job as <profile>:<jobid>, so two profiles never share a job', async () => {
    const shared = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
    const a = profileBus(shared, 'alpha:');
    const b = profileBus(shared, 'beta:');
    const heard: string[] = [];
    await b.subscribe('j1', (event) => void heard.push(event.data));
    await a.append('j1', { seq: 0, data: 'a0', terminal: false });
    await b.append('j1', { seq: 0, data: 'b0', terminal: true });
    expect((await a.history('j1', -1)).map((e) => e.data)).toEqual(['a0']);
    expect((await shared.history('alpha:j1', -1)).map((e) => e.data)).toEqual(['a0']);
    expect(await b.state('j1')).toMatchObject({ lastSeq: 0, terminalSeq: 0 });
    expect(await a.state('j1')).toMatchObject({ terminalSeq: null });
    expect(heard).toEqual(['b0']);
    expect(await a.acquireLease('j1', 'A', 1000)).toBe(true);
    expect(await b.acquireLease('j1', 'B', 1000)).toBe(true);
    // Closing a view leaves the shared bus to its owner.
    await a.close();
    expect((await shared.history('beta:j1', -1)).length).toBe(1);
  });

  it('reports each stored event once, single or batched; duplicates are not stored, so not reported', async () => {
    const shared = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
    let stored = 0;
    const view = profileBus(shared, 'alpha:', { onStored: (count) => void (stored += count) });
    await view.append('j1', { seq: 0, data: 'e0', terminal: false });
    await view.append('j1', { seq: 0, data: 'e0', terminal: false });
    expect(stored).toBe(1);
    const results = await view.appendMany!('j1', [
      { seq: 1, data: 'e1', terminal: false },
      { seq: 1, data: 'e1', terminal: false },
      { seq: 2, data: 'e2', terminal: true },
    ]);
    expect(results.map((event) => event?.seq ?? null)).toEqual([1, null, 2]);
    expect(stored).toBe(3);
    expect(await view.appendMany!('j1', [{ seq: 3, data: 'e3', terminal: false }])).toEqual([null]);
    expect(stored).toBe(3);
  });

  it('offers a batch append and data-since only when the shared bus does', async () => {
    const shared = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
    const { appendMany: _, ...single } = shared;
    expect(profileBus(single, 'alpha:').appendMany).toBeUndefined();
    expect(profileBus(shared, 'alpha:').dataSince).toBeUndefined();
    expect(await profileBus({ ...shared, dataSince: async () => 42 }, 'alpha:').dataSince?.()).toBe(42);
  });
});
