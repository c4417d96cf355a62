import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { type WorkerDev, startWorkerDev } from '../../scripts/worker-dev.ts';
import { withDevDefaults } from '../../src/config.ts';
import { PROFILES } from '../../src/profiles/index.ts';
import { type Simulator, createSimulator } from '@sse-relay/simulator';
import type { ScenarioTarget } from '../scenarios/target.ts';

export interface TestWorker extends ScenarioTarget {
  dev: WorkerDev;
  close(): Promise<void>;
}

export interface TestSimulator {
  /** Base URL of its vendor API. */
  url: string;
  stats(): ReturnType<Simulator['stats']>;
  close(): Promise<void>;
}

/** The upstream simulator on a free local port, for a Worker in workerd to reach; `token`: the bearer token it wants. */
export async function startTestSimulator(options: { token?: string } = {}): Promise<TestSimulator> {
  const simulator = createSimulator({ maxJobs: 1000, ...options });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: simulator.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/midjourney`,
    stats: () => simulator.stats(),
    close: () =>
      new Promise<void>((resolve) => {
        simulator.close();
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

/** The profiles' vendors (default: every profile's) at the simulator on `origin`, in each profile's own variables, with one credential. */
export function simulatorEndpoints(origin: string, credential: string, profiles?: readonly string[]): Record<string, string> {
  const wanted = PROFILES.filter((entry) => profiles === undefined || profiles.includes(entry.profile.name));
  return Object.assign({}, ...wanted.map((entry) => entry.endpointEnv(origin + entry.simulatorPath, credential)));
}

/** Vars for a test Worker: open mode asked for explicitly (as `npm run dev:worker` does) unless API keys are given. */
export function workerTestVars(vars: Record<string, string>): Record<string, string> {
  // The same opt-in as `npm start --dev`; an upstream is always given, so it never asks for the simulator.
  const asked = withDevDefaults({ LOG_LEVEL: 'warn', ...vars });
  return Object.fromEntries(Object.entries(asked).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/**
 * The Worker in a real `wrangler dev` (local workerd), against the simulator on a free local port;
 * `profiles`: the only ones configured (default: all).
 */
export async function startTestWorker(vars: Record<string, string> = {}, profiles?: readonly string[]): Promise<TestWorker> {
  const simulator = await startTestSimulator();
  let dev: WorkerDev;
  try {
    dev = await startWorkerDev({
      vars: workerTestVars({
        ...simulatorEndpoints(new URL(simulator.url).origin, 'test-token', profiles),
        ...vars,
      }),
    });
  } catch (err) {
    await simulator.close();
    throw err;
  }
  return {
    url: dev.url,
    simulatorUrl: simulator.url,
    dev,
    simStats: async () => simulator.stats(),
    async close() {
      await dev.close();
      await simulator.close();
    },
  };
}
