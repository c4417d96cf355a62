import { Writable } from 'node:stream';
import { loadConfig } from '../../src/core/config.ts';
import { type Gateway, startGateway } from '../../src/node/gateway.ts';

export interface TestGateway extends Gateway {
  /** Every log line the gateway wrote, as raw text. */
  logs: string[];
  /** `GET /_sim/stats` of the in-process simulator. */
  simStats(): Promise<{ streamsServed: number; jobs: number; running: number; polls: Record<string, number>; requests: { method: string; path: string }[] }>;
}

/** A real gateway on 127.0.0.1:0 with the in-process simulator (unless UPSTREAM_URL is given). */
export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', SIM_MAX_JOBS: '1000', ...env });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const gateway = await startGateway(config, { logDestination: destination });
  return Object.assign(gateway, {
    logs,
    async simStats() {
      if (!gateway.simulator) throw new Error('no in-process simulator');
      return gateway.simulator.stats();
    },
  });
}
