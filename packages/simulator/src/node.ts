import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { createSimulator } from './simulator.ts';
import type { Simulator, SimulatorOptions } from './simulator.ts';

/** Where and how to serve a simulator on Node. */
export interface StartSimulatorOptions extends SimulatorOptions {
  /** Port to listen on (default 0: a free one). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
}

/** A simulator listening on a Node HTTP server. */
export interface StartedSimulator {
  /** The server's origin, e.g. `http://127.0.0.1:8090`; each vendor lives under its own path there. */
  url: string;
  /** The only bearer token it accepts; undefined when it accepts any non-empty one. */
  token?: string;
  simulator: Simulator;
  /** Stops every job and stream, then the server. */
  close(): Promise<void>;
}

/** Builds a simulator and serves it with @hono/node-server; resolves once it listens, rejects if it cannot (e.g. the port is taken). */
export async function startSimulator(options: StartSimulatorOptions = {}): Promise<StartedSimulator> {
  const { port = 0, hostname = '127.0.0.1', ...simulatorOptions } = options;
  const simulator = createSimulator(simulatorOptions);
  let server: ServerType;
  try {
    server = await new Promise<ServerType>((resolve, reject) => {
      const listening = serve({ fetch: simulator.fetch, port, hostname }, () => resolve(listening));
      listening.once('error', reject);
    });
  } catch (err) {
    simulator.close();
    throw err;
  }
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${bound}`,
    ...(options.token === undefined ? {} : { token: options.token }),
    simulator,
    close() {
      closing ??= new Promise<void>((resolve) => {
        simulator.close();
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      return closing;
    },
  };
}
