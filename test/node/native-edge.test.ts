import { type ChildProcess, spawn } from 'node:child_process';
import { type Socket, connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNativeEdge } from '../../src/node/native-edge.ts';
import { until } from '../support/until.ts';

/** File descriptors the child may hold: Node's own (epoll, pipes, stdio, the loader) leave it room for a few dozen connections. */
const FD_LIMIT = 96;
const CLIENTS = 120;

describe.runIf(loadNativeEdge())('the native edge out of file descriptors', () => {
  let child: ChildProcess;
  const clients: Socket[] = [];
  afterAll(() => {
    for (const client of clients) client.destroy();
    child?.kill('SIGKILL');
  });

  it('pauses accepting rather than spin on a socket it cannot accept from, says so, drops nothing, and serves the queued clients once descriptors are free', async () => {
    child = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT} && exec "${process.execPath}" --import tsx test/support/native-edge-child.ts`], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    const messages: Array<{ port?: number; pauses?: number }> = [];
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('{')) messages.push(JSON.parse(line));
    });
    const port = await until(
      () => messages.find((m) => m.port !== undefined)?.port,
      (found) => found !== undefined,
      { what: 'the child listening', timeoutMs: 30_000 },
    );
    const served = new Set<number>();
    for (let i = 0; i < CLIENTS; i++) {
      const client = connect({ port: port as number, host: '127.0.0.1' });
      clients.push(client);
      client.on('error', () => undefined);
      client.on('data', (chunk: Buffer) => {
        if (chunk.toString('latin1').includes('data: ok')) served.add(i);
      });
      client.write('GET /stream HTTP/1.1\r\nHost: test\r\n\r\n');
    }
    // More clients than descriptors: some are served and held, the rest wait in the kernel's queue.
    await until(() => messages.some((m) => (m.pauses ?? 0) > 0), { what: 'accepting paused', timeoutMs: 20_000 });
    await until(() => served.size > 0, 'the first streams');
    expect(served.size).toBeLessThan(CLIENTS);
    // The served ones leave, round after round: the rest are accepted and served, none refused.
    while (served.size < CLIENTS) {
      const before = served.size;
      for (const i of served) clients[i]?.destroy();
      await until(() => served.size > before, { what: `more than ${before} served`, timeoutMs: 20_000 });
    }
    expect(clients.filter((client, i) => !served.has(i) && client.destroyed)).toEqual([]);
  });
});
