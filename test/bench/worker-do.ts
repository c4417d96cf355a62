// What one job's Durable Object costs in storage, measured in workerd (wrangler dev --local) on the
// test Worker that exposes the object's bus (test/worker/bus-worker): SQL statements, rows read and
// rows written, as Cloudflare bills them, per event stored and per subscriber joining a cold object.
import { startWorkerDev } from '../../scripts/worker-dev.ts';
import type { Row } from './report.ts';

interface Usage {
  statements: number;
  rowsRead: number;
  rowsWritten: number;
}

const HISTORY_MAX_EVENTS = 100;

export async function workerDoRows(quick: boolean): Promise<Row[]> {
  const dev = await startWorkerDev({
    config: 'test/worker/bus-worker/wrangler.toml',
    vars: { HISTORY_MAX_EVENTS: String(HISTORY_MAX_EVENTS), HISTORY_TTL_MS: '600000' },
  });
  const call = async <T>(jobId: string, method: string, args: unknown[]): Promise<T> => {
    const response = await fetch(dev.url, { method: 'POST', body: JSON.stringify({ jobId, method, args }) });
    const body = (await response.json()) as { result?: T; error?: string };
    if (!response.ok) throw new Error(body.error);
    return body.result as T;
  };
  const data = (seq: number) => JSON.stringify({ event: 'midjourney_progress', seq, pad: 'x'.repeat(500) });
  const events = quick ? 150 : 300;
  const rows: Row[] = [];
  try {
    for (const burst of [1, 10]) {
      const jobId = `bench-do-${burst}-${Date.now()}`;
      // The first append creates the tables: not what a steady event costs.
      await call(jobId, 'append', [jobId, { seq: 0, data: data(0), terminal: false }]);
      const before = await call<Usage>(jobId, 'usage', []);
      const started = performance.now();
      for (let seq = 1; seq <= events; seq += burst) {
        const batch = Array.from({ length: burst }, (_, k) => ({ seq: seq + k, data: data(seq + k), terminal: false }));
        if (burst === 1) await call(jobId, 'append', [jobId, batch[0]]);
        else await call(jobId, 'appendMany', [jobId, batch]);
      }
      const ms = performance.now() - started;
      const after = await call<Usage>(jobId, 'usage', []);
      const per = (key: keyof Usage) => ((after[key] - before[key]) / events).toFixed(2);
      rows.push(
        note(
          `worker-do, ${burst === 1 ? 'lone events' : `bursts of ${burst}`}`,
          `per event: ${per('statements')} SQL statements, ${per('rowsRead')} rows read, ${per('rowsWritten')} rows written (history capped at ${HISTORY_MAX_EVENTS}, so trimming included); ${(ms / events).toFixed(2)} ms per event over HTTP`,
        ),
      );
      // A subscriber on a woken object: its hub loads the history once; later joiners are served from memory.
      const read0 = await call<Usage>(jobId, 'usage', []);
      await call(jobId, 'history', [jobId, -1]);
      const read1 = await call<Usage>(jobId, 'usage', []);
      if (burst === 1) {
        rows.push(
          note(
            'worker-do, first join',
            `history load of ${HISTORY_MAX_EVENTS} events: ${read1.statements - read0.statements} statements, ${read1.rowsRead - read0.rowsRead} rows read; later joiners on the same awake object: none (served from the hub's cache)`,
          ),
        );
      }
    }
  } finally {
    await dev.close();
  }
  return rows;
}

function note(name: string, text: string): Row {
  return {
    case: name,
    server: 'sse-relay',
    subscribers: 0,
    events: 0,
    deliveriesPerS: NaN,
    p50Ms: NaN,
    p99Ms: NaN,
    maxMs: NaN,
    burstP99Ms: NaN,
    cpuS: NaN,
    cpuUsPerDelivery: NaN,
    rssMB: NaN,
    rssPerIdleKB: NaN,
    lost: 0,
    upstreamConns: null,
    failedConnects: 0,
    note: text,
  };
}
