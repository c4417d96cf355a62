import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { type WorkerDev, startWorkerDev } from '../../src/node/worker-dev.ts';
import { createSimulator } from '../../src/simulator/simulator.ts';
import type { ScenarioTarget } from '../scenarios/target.ts';

export interface TestWorker extends ScenarioTarget {
  dev: WorkerDev;
  close(): Promise<void>;
}

/** The Worker in a real `wrangler dev` (local workerd), against the simulator on a free local port. */
export async function startTestWorker(vars: Record<string, string> = {}): Promise<TestWorker> {
  const simulator = createSimulator({ maxJobs: 1000 });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: simulator.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const simulatorUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/midjourney`;
  const closeSimulator = () =>
    new Promise<void>((resolve) => {
      simulator.close();
      server.close(() => resolve());
      if ('closeAllConnections' in server) server.closeAllConnections();
    });
  let dev: WorkerDev;
  try {
    dev = await startWorkerDev({ vars: { UPSTREAM_URL: simulatorUrl, UPSTREAM_TOKEN: 'test-token', LOG_LEVEL: 'warn', ...vars } });
  } catch (err) {
    await closeSimulator();
    throw err;
  }
  return {
    url: dev.url,
    simulatorUrl,
    dev,
    simStats: async () => simulator.stats(),
    async close() {
      await dev.close();
      await closeSimulator();
    },
  };
}
