import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './free-port.ts';
import { until } from './until.ts';

/** A throwaway redis-server on a free port: no persistence, gone after stop(). */
export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server; the port stays reserved for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop), empty. */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});

/** Resolves true when something on the port answers PING with PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function launch(port: number, extraArgs: readonly string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  return new Promise((resolve, reject) => {
    let exited = false;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    child.once('error', (err) => {
      exited = true;
      running.delete(child);
      reject(new Error(`cannot start redis-server (is it installed?): ${err.message}`));
    });
    child.once('exit', (code) => {
      exited = true;
      running.delete(child);
      reject(new Error(`redis-server exited with ${code}: ${stderr}`));
    });
    // An exit has rejected already; otherwise the server answers PING or is killed.
    void until(async () => exited || (await answersPing(port)), { timeoutMs: 10_000 }).then(
      () => {
        if (!exited) resolve(child);
      },
      () => {
        if (exited) return;
        child.kill('SIGKILL');
        reject(new Error('redis-server did not answer PING in time'));
      },
    );
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Starts redis-server on a free port (retrying if another process grabs the port first). */
export async function startRedisServer(): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await startRedisServerOn(await freePort());
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error('cannot start redis-server');
}

/** Starts redis-server on the given port with extra arguments (a cluster node's, say); start() after stop() passes them again. */
export async function startRedisServerOn(port: number, extraArgs: readonly string[] = []): Promise<RedisServer> {
  let child = await launch(port, extraArgs);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await kill(child);
    },
    async start() {
      child = await launch(port, extraArgs);
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
  };
}
