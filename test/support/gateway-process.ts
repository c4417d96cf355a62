import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withDevDefaults } from '../../src/config.ts';
import { freePort } from './free-port.ts';
import { until } from './until.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A gateway running as its own Node process (`src/node/main.ts`), as in production. */
export interface GatewayProcess {
  name: string;
  url: string;
  /** What the process wrote to stdout and stderr. */
  output(): string;
  /** Sends a signal and waits for the process to exit (SIGKILL after 5 s). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `node --import tsx src/node/main.ts` on a free port (or `env.PORT`: a restart on the same one) and waits until /healthz answers. */
export async function startGatewayProcess(name: string, env: Record<string, string>): Promise<GatewayProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnGateway(name, env, env.PORT ? Number(env.PORT) : await freePort());
    } catch (err) {
      // Another process may take the port between freePort() and the gateway's bind.
      if (attempt >= 3 || !String(err).includes('EADDRINUSE')) throw err;
    }
  }
}

async function spawnGateway(name: string, env: Record<string, string>, port: number): Promise<GatewayProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/node/main.ts'], {
    cwd: ROOT,
    // Open mode and the simulator are asked for explicitly, as `npm start` does, unless env configures keys or an upstream.
    env: withDevDefaults({ PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), INSTANCE_ID: name, DRAIN_MS: '0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const healthy = () =>
    fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
  const up = await until(async () => child.exitCode !== null || (await healthy()), { timeoutMs: 60_000, intervalMs: 50 }).catch(
    () => false,
  );
  if (child.exitCode !== null) throw new Error(`gateway ${name} exited with ${child.exitCode}: ${output}`);
  if (!up) {
    await stop('SIGKILL');
    throw new Error(`gateway ${name} did not come up: ${output}`);
  }
  return { name, url, output: () => output, stop };
}
