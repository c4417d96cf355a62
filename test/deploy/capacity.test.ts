// scripts/capacity.ts: the worked example of docs/operations/capacity.md, its arithmetic done again
// here by hand from the measured figures, the doc's printed plan equal to the script's, and bad input.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MEASURED, PRICES, formatPlan, parseCapacityArgs, plan, podsReached } from '../../scripts/capacity.ts';

const root = join(import.meta.dirname, '../..');
/** The worked example of the guide: 100,000 viewers on 1,000 jobs, one event a second each, histories kept an hour. */
const ARGS = ['--viewers', '100000', '--jobs', '1000', '--events-per-s', '1', '--history-ttl-s', '3600'];

describe('npm run capacity', () => {
  const worked = plan(parseCapacityArgs(ARGS));
  const m = MEASURED;

  it('counts the load: events, deliveries, new streams', () => {
    expect(worked.eventsPerS).toBe(1000);
    expect(worked.deliveriesPerS).toBe(100_000);
    expect(worked.joinsPerS).toBeCloseTo(100_000 / 60, 6);
  });

  it('random balancing: each event reaches nearly every pod; affinity: one', () => {
    // 100 viewers per job over 20 pods: 20 × (1 − 0.95^100) pods hold at least one of them.
    expect(worked.random.pods).toBe(20);
    expect(worked.random.podsPerEvent).toBeCloseTo(20 * (1 - 0.95 ** 100), 9);
    expect(worked.affinity.podsPerEvent).toBe(1);
    expect(podsReached(1, 50, 'random')).toBeCloseTo(1, 9);
    expect(podsReached(0, 50, 'random')).toBe(0);
  });

  it('gateway CPU: deliveries + ingest + a receive per pod reached + new streams', () => {
    const base = 100_000 * m.cpuUsPerDelivery + 1000 * m.cpuUsIngestPerEvent + (100_000 / 60) * m.cpuUsPerConnect;
    expect(worked.affinity.coresTotal).toBeCloseTo((base + 1000 * m.cpuUsReceivePerEvent) / 1e6, 9);
    expect(worked.random.coresTotal).toBeCloseTo((base + 1000 * worked.random.podsPerEvent * m.cpuUsReceivePerEvent) / 1e6, 9);
    // Pods: the subscriber target decides here (20 × 5,000), the CPU fits in 20 × 0.7 cores.
    expect(worked.affinity.pods).toBe(20);
    expect(worked.random.coresTotal).toBeLessThan(20 * 0.7);
  });

  it('Redis: one append per event; bytes out once per pod reached; memory for an hour of history', () => {
    expect(worked.random.redisOutMBps).toBeCloseTo((1000 * worked.random.podsPerEvent * m.redisBytesOutPerPubsubDelivery) / 1e6, 9);
    expect(worked.affinity.redisOutMBps).toBeCloseTo((1000 * m.redisBytesOutPerPubsubDelivery) / 1e6, 9);
    expect(worked.random.redisOutMBps / worked.affinity.redisOutMBps).toBeCloseTo(worked.random.podsPerEvent, 9);
    const bytes = 1000 * 3600 * m.redisBytesPerEvent + (1000 / 60) * 3600 * m.redisBytesPerJob;
    expect(worked.redisMemoryGiB).toBeCloseTo(bytes / 2 ** 30, 9);
    expect(worked.affinity.redisShards).toBe(1);
  });

  it('Redis shards grow with the history kept, not only with the event rate', () => {
    const day = plan({ viewers: 100_000, jobs: 1000, eventsPerS: 1 });
    const gib = (1000 * 86_400 * m.redisBytesPerEvent + (1000 / 60) * 86_400 * m.redisBytesPerJob) / 2 ** 30;
    expect(day.redisMemoryGiB).toBeCloseTo(gib, 9);
    expect(day.affinity.redisShards).toBe(Math.ceil(gib / 8));
  });

  it('the Worker: objects awake for the job and 60 s after, rows written per event, at the stated prices', () => {
    const month = 30 * 86_400;
    const gbSeconds = 1000 * ((60 + 60) / 60) * PRICES.doGb * month;
    const rowsWritten = 1000 * month * m.doRowsWrittenPerEvent;
    const creates = (1000 / 60) * month;
    const joins = (100_000 / 60) * month;
    const storageGb = (1000 * 3600 * 600) / 1e9;
    const expected =
      PRICES.basePerMonth +
      ((creates + joins - PRICES.workerRequestsIncluded) / 1e6) * PRICES.workerPerMillionRequests +
      ((4 * creates + joins - PRICES.doRequestsIncluded) / 1e6) * PRICES.doPerMillionRequests +
      ((gbSeconds - PRICES.doGbSecondsIncluded) / 1e6) * PRICES.doPerMillionGbSeconds +
      ((rowsWritten - PRICES.rowsWrittenIncluded) / 1e6) * PRICES.perMillionRowsWritten +
      Math.max(0, (1000 * month * m.doRowsReadPerEvent - PRICES.rowsReadIncluded) / 1e6) * PRICES.perMillionRowsRead +
      Math.max(0, storageGb - PRICES.storageGbIncluded) * PRICES.perGbMonth;
    expect(worked.worker.perMonth).toBeCloseTo(expected, 6);
  });

  it('prints the plans the guide shows (100,000 and 1,000,000 viewers)', () => {
    const guide = readFileSync(join(root, 'docs/operations/capacity.md'), 'utf8');
    const million = ['--viewers', '1000000', '--jobs', '10000', '--events-per-s', '1', '--history-ttl-s', '3600'];
    for (const args of [ARGS, million]) {
      const printed = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/capacity.ts', ...args], { cwd: root, encoding: 'utf8' });
      expect(printed.trim()).toBe(formatPlan(plan(parseCapacityArgs(args))));
      expect(guide).toContain(`npm run -s capacity -- ${args.join(' ')}`);
      expect(guide).toContain(printed.trim());
    }
  });

  it('refuses bad options with a message naming the option', () => {
    expect(() => parseCapacityArgs(['--viewers', 'many', '--jobs', '1', '--events-per-s', '1'])).toThrow(/--viewers must be a number/);
    expect(() => parseCapacityArgs(['--jobs', '1', '--events-per-s', '1'])).toThrow(/--viewers is required/);
    expect(() => parseCapacityArgs(['--viewers', '1', '--jobs', '1', '--events-per-s', '1', '--pods', '3'])).toThrow(/pods/);
    expect(() => plan({ viewers: 1, jobs: 0, eventsPerS: 1 })).toThrow(/--jobs/);
    expect(() => plan({ viewers: -1, jobs: 1, eventsPerS: 1 })).toThrow(/--viewers must be a non-negative number/);
  });
});
