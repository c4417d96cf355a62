import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelOf, createIpcBus } from '../../src/node/ipc-bus.ts';
import { CONTRACT_RETENTION, busContracts } from '../core/bus/contracts/index.ts';

const HOST = fileURLToPath(new URL('../support/bus-host.ts', import.meta.url));
let host: ChildProcess;

beforeAll(async () => {
  host = fork(HOST, [JSON.stringify(CONTRACT_RETENTION)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    host.once('message', () => resolve());
    host.once('exit', (code) => reject(new Error(`bus host exited (${code})`)));
  });
}, 30_000);
afterAll(() => {
  host.disconnect();
});

// Two clients in this process, the bus in another: every call and event crosses the process boundary.
busContracts('memory bus across processes (IPC)', async () => {
  const a = createIpcBus(channelOf(host));
  const b = createIpcBus(channelOf(host));
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
    },
  };
});

describe('IPC bus client', () => {
  it('fails calls clearly once the host is gone, and never hangs', async () => {
    const lone = fork(HOST, [JSON.stringify(CONTRACT_RETENTION)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise((resolve) => lone.once('message', resolve));
    const bus = createIpcBus(channelOf(lone));
    await bus.ping();
    lone.disconnect();
    await new Promise((resolve) => lone.once('exit', resolve));
    await expect(bus.ping()).rejects.toThrow(/bus host unreachable/);
    await bus.close();
  });
});
