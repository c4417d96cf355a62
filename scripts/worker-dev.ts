import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type AddressInfo, type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A local `wrangler dev` (workerd) running the Worker of src/worker. */
export interface WorkerDev {
  url: string;
  /** Everything wrangler printed, for diagnosis. */
  output: string[];
  close(): Promise<void>;
}

export interface WorkerDevOptions {
  /** wrangler.toml to use, relative to the repository root; default the Worker's own. */
  config?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Worker vars and secrets (`--var KEY:VALUE`). */
  vars: Record<string, string>;
  /** Durable Object storage directory; default a fresh temporary one, removed on close. */
  persistTo?: string;
  /** Echo wrangler's output here (the dev script passes the console). */
  onOutput?(text: string): void;
  startTimeoutMs?: number;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wranglerBin = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');

/** `count` distinct free local ports (all held open while choosing, so none repeats). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/**
 * Starts `wrangler dev --local` offline (workerd from npm, no account, no telemetry) in its
 * own process group, and resolves once the Worker answers /healthz.
 */
export async function startWorkerDev(options: WorkerDevOptions): Promise<WorkerDev> {
  const [picked, inspectorPort] = await freePorts(2);
  const port = options.port || (picked as number);
  const tempState = options.persistTo === undefined ? mkdtempSync(join(tmpdir(), 'sse-relay-workerd-')) : undefined;
  const args = [
    wranglerBin,
    'dev',
    '--local',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    options.persistTo ?? (tempState as string),
    '--show-interactive-dev-session=false',
    ...(options.config ? ['--config', options.config] : []),
    ...Object.entries(options.vars).flatMap(([key, value]) => ['--var', `${key}:${value}`]),
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_HIDE_BANNER: 'true',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    NO_COLOR: '1',
    CI: '1',
  };
  delete env.CLOUDFLARE_API_TOKEN;
  delete env.CLOUDFLARE_ACCOUNT_ID;
  const child = spawn(process.execPath, args, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output.push(text);
    options.onOutput?.(text);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const done = exited(child);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
        const timer = setTimeout(() => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }, 5000);
        await done;
        clearTimeout(timer);
      }
      if (tempState) rmSync(tempState, { recursive: true, force: true });
    })();
    return closing;
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 45_000);
  let gone = false;
  void done.then(() => (gone = true));
  while (!gone) {
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return { url, output, close };
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await close();
  throw new Error(`wrangler dev did not start:\n${output.join('').slice(-4000)}`);
}
