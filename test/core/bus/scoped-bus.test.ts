import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import { scopedBus } from '../../../src/core/bus/scoped-bus.ts';

describe('a profile scoped view of the shared bus', () => {
  it('stores, publishes and leases a job as <profile>:<jobid>, so two profiles never share a job', async () => {
    const shared = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
    const a = scopedBus(shared, 'alpha:');
    const b = scopedBus(shared, 'beta:');
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
});
