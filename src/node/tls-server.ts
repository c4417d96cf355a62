import { readFileSync } from 'node:fs';
import { type SecureServerOptions, createSecureServer } from 'node:http2';
import type { Socket } from 'node:net';
import type { ServerType } from '@hono/node-server';
import { ConfigError } from '../config.ts';
import { KEEPALIVE_MS } from './socket-sink-opener.ts';

/** What @hono/node-server's `serve` takes to serve HTTP/2 over TLS, HTTP/1.1 to clients that do not offer h2 (ALPN). */
export interface SecureServe {
  createServer: typeof createSecureServer;
  serverOptions: SecureServerOptions;
}

/** The TLS server options from TLS_CERT_FILE and TLS_KEY_FILE (PEM), or undefined when they are not set. */
export function secureServe(config: { TLS_CERT_FILE?: string | undefined; TLS_KEY_FILE?: string | undefined }): SecureServe | undefined {
  if (config.TLS_CERT_FILE === undefined || config.TLS_KEY_FILE === undefined) return undefined;
  const read = (name: 'TLS_CERT_FILE' | 'TLS_KEY_FILE', path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`invalid configuration: ${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const cert = read('TLS_CERT_FILE', config.TLS_CERT_FILE);
  const key = read('TLS_KEY_FILE', config.TLS_KEY_FILE);
  return { createServer: createSecureServer, serverOptions: { cert, key, allowHTTP1: true } };
}

const connections = new WeakMap<ServerType, Set<Socket>>();

/**
 * Keeps the TLS connections a secure server takes, HTTP/2 sessions and HTTP/1.1 alike, for
 * {@link destroyConnections}; each probed by TCP keepalive, as an HTTP/1.1 stream's is, so a
 * vanished peer of an idle connection is noticed.
 */
export function trackConnections(server: ServerType): void {
  const open = new Set<Socket>();
  connections.set(server, open);
  server.on('secureConnection', (socket: Socket) => {
    socket.setKeepAlive(true, KEEPALIVE_MS);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
}

/** Destroys every connection still open (an HTTP/2 server has no closeAllConnections). */
export function destroyConnections(server: ServerType): void {
  for (const socket of connections.get(server) ?? []) socket.destroy();
}
