import { Writable } from 'node:stream';
import { loadConfig, withDevDefaults } from '../../src/config.ts';
import { type Gateway, type GatewayOverrides, startGateway } from '../../src/node/gateway.ts';
import type { ScenarioTarget } from '../scenarios/target.ts';

export interface TestGateway extends Gateway {
  /** Every log line the gateway wrote, as raw text. */
  logs: string[];
  /** `GET /_sim/stats` of the in-process simulator. */
  simStats(): Promise<{
    streamsServed: number;
    jobs: number;
    running: number;
    polls: Record<string, number>;
    requests: { method: string; path: string }[];
  }>;
  /** This gateway as the shared runtime scenarios see it. */
  scenarioTarget(): ScenarioTarget;
}

/**
 * A real gateway on 127.0.0.1:0. Like `npm start` (`--dev`), it asks for the open mode unless
 * GATEWAY_API_KEYS is given and for the in-process simulator unless an upstream is. `overrides`
 * (a fault bus, a subscriber bound) go to startGateway; its log destination is the test's.
 */
export async function startTestGateway(
  env: Record<string, string> = {},
  overrides: Omit<GatewayOverrides, 'logDestination'> = {},
): Promise<TestGateway> {
  // No drain window unless a test asks for one: closing a test gateway with open streams stays quick.
  const config = loadConfig(
    withDevDefaults({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', SIM_MAX_JOBS: '1000', DRAIN_MS: '0', ...env }),
  );
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const gateway = await startGateway(config, { ...overrides, logDestination: destination });
  const simStats = async () => {
    if (!gateway.simulator) throw new Error('no in-process simulator');
    return gateway.simulator.stats();
  };
  return Object.assign(gateway, {
    logs,
    simStats,
    scenarioTarget(): ScenarioTarget {
      return {
        url: gateway.url,
        simulatorUrl: gateway.simulatorUrl as string,
        simStats,
        malformedCount: () => gateway.relay.stats.eventsMalformed,
      };
    },
  });
}
