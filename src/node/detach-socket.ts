import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Parser = { _consumed?: boolean };
type HttpCommon = { freeParser(parser: Parser, req: IncomingMessage | null, socket: Socket): void };

/** node:http's own helper that returns a parser to its pool (what it runs for an `upgrade`). */
const httpCommon = createRequire(import.meta.url)('_http_common') as Partial<HttpCommon>;

/** The listeners node:http puts on every connection it serves, by event. */
const HTTP_LISTENERS: ReadonlyArray<readonly [string, string]> = [
  ['data', 'bound socketOnData'],
  ['end', 'bound socketOnEnd'],
  ['close', 'bound socketOnClose'],
  ['drain', 'bound socketOnDrain'],
  ['error', 'socketOnError'],
  ['timeout', 'socketOnTimeout'],
  ['resume', 'onSocketResume'],
  ['pause', 'onSocketPause'],
];

/**
 * Takes a connection away from node:http once a response's head is out, as node:http itself does
 * for an `upgrade`: its parser goes back to the pool and its request, response and per-connection
 * state become garbage (≈ 4 KB of heap per idle subscriber). The caller then owns the socket: it
 * writes the body and ends it, and reads (and discards) whatever the client still sends.
 */
export function detachFromHttp(socket: Socket, res: ServerResponse, req: IncomingMessage | null): void {
  const parser = parserOf(socket);
  if (!parser || !canDetachFromHttp(socket, res)) throw new Error('this connection cannot be taken from node:http');
  res.detachSocket(socket);
  for (const [event, name] of HTTP_LISTENERS) {
    const fn = socket.listeners(event).find((listener) => listener.name === name);
    if (fn) socket.removeListener(event, fn as (...args: unknown[]) => void);
  }
  (httpCommon.freeParser as HttpCommon['freeParser'])(parser, req, socket);
}

const parserOf = (socket: Socket) => (socket as Socket & { parser?: Parser | null }).parser;

/** True when {@link detachFromHttp} can take this connection (ask before sending the head: it then says `Connection: close`). */
export function canDetachFromHttp(socket: Socket, res: ServerResponse): boolean {
  if (!parserOf(socket) || typeof httpCommon.freeParser !== 'function' || typeof res.detachSocket !== 'function') return false;
  if ((socket as Socket & { _httpMessage?: unknown })._httpMessage !== res) return false;
  return HTTP_LISTENERS.slice(0, 4).every(([event, name]) => socket.listeners(event).some((fn) => fn.name === name));
}
