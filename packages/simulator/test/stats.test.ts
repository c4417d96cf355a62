import { describe, expect, it } from 'vitest';
import { createStatsRecorder, MAX_RECORDED_REQUESTS } from '../src/stats.ts';

describe('stats recorder', () => {
  it('keeps only the last requests, oldest first', () => {
    const stats = createStatsRecorder();
    for (let i = 0; i < MAX_RECORDED_REQUESTS + 5; i++) stats.request('GET', `/p/${i}`, 0);
    const { requests } = stats.snapshot(0);
    expect(requests).toHaveLength(MAX_RECORDED_REQUESTS);
    expect(requests[0]).toEqual({ method: 'GET', path: '/p/5', at: '1970-01-01T00:00:00.000Z' });
  });

  it('counts and resets', () => {
    const stats = createStatsRecorder();
    stats.streamOpened();
    stats.jobCreated();
    stats.jobCreated();
    stats.polled('a:b');
    stats.polled('a:b');
    expect(stats.snapshot(1)).toEqual({ streamsServed: 1, jobs: 2, running: 1, requests: [], polls: { 'a:b': 2 } });
    stats.reset();
    expect(stats.snapshot(0)).toEqual({ streamsServed: 0, jobs: 0, running: 0, requests: [], polls: {} });
  });
});
