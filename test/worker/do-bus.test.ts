import { afterAll, beforeAll } from 'vitest';
import type { Bus, BusListener, StoredEvent } from '../../src/core/bus/bus.ts';
import { type WorkerDev, startWorkerDev } from '../../scripts/worker-dev.ts';
import { CONTRACT_RETENTION, busContracts } from '../core/bus/contracts/index.ts';

// The shared bus contract against the Durable Object bus, in workerd: one object per job.
let dev: WorkerDev;
beforeAll(async () => {
  dev = await startWorkerDev({
    config: 'test/worker/bus-worker/wrangler.toml',
    vars: { HISTORY_MAX_EVENTS: String(CONTRACT_RETENTION.historyMaxEvents), HISTORY_TTL_MS: String(CONTRACT_RETENTION.historyTtlMs) },
  });
});
afterAll(async () => {
  await dev?.close();
});

/** A Bus whose every call runs on the job's Durable Object bus behind the test Worker. */
function remoteBus(url: string): Bus {
  const subscriptions = new Set<AbortController>();
  let queue: Promise<unknown> = Promise.resolve();
  /** Calls from one handle run in order, as over an instance's one Redis connection. */
  function call<T>(jobId: string, method: string, args: unknown[]): Promise<T> {
    const run = queue.then(async () => {
      const response = await fetch(url, { method: 'POST', body: JSON.stringify({ jobId, method, args }) });
      const body = (await response.json()) as { result?: T; error?: string };
      if (!response.ok) throw new Error(body.error);
      return body.result as T;
    });
    queue = run.catch(() => undefined);
    return run;
  }

  async function pump(body: ReadableStream<Uint8Array>, listener: BusListener): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of body) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line) listener(JSON.parse(line) as StoredEvent);
    }
  }

  return {
    append: (jobId, event) => call(jobId, 'append', [jobId, event]),
    appendMany: (jobId, events) => call(jobId, 'appendMany', [jobId, events]),
    publish: (jobId, events) => call(jobId, 'publish', [jobId, events]),
    history: (jobId, afterSeq) => call(jobId, 'history', [jobId, afterSeq]),
    state: (jobId) => call(jobId, 'state', [jobId]),
    acquireLease: (jobId, owner, ttlMs) => call(jobId, 'acquireLease', [jobId, owner, ttlMs]),
    renewLease: (jobId, owner, ttlMs) => call(jobId, 'renewLease', [jobId, owner, ttlMs]),
    claimLease: (jobId, owner, ttlMs) => call(jobId, 'claimLease', [jobId, owner, ttlMs]),
    releaseLease: (jobId, owner) => call(jobId, 'releaseLease', [jobId, owner]),
    async subscribe(jobId, listener) {
      const controller = new AbortController();
      subscriptions.add(controller);
      const response = await fetch(`${url}/subscribe?job=${encodeURIComponent(jobId)}`, { signal: controller.signal });
      if (!response.body) throw new Error('no subscription stream');
      pump(response.body, listener).catch(() => undefined);
      return async () => {
        subscriptions.delete(controller);
        controller.abort();
      };
    },
    async ping() {},
    async close() {
      for (const controller of subscriptions) controller.abort();
      subscriptions.clear();
    },
  };
}

busContracts('Durable Object (workerd)', async () => {
  const a = remoteBus(dev.url);
  const b = remoteBus(dev.url);
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
});
