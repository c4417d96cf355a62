import { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { SinkInit, SinkOpener } from '../http/subscription-response.ts';
import { SocketSink } from './socket-sink.ts';

/** How often TCP probes an idle subscriber's connection, so a vanished peer is noticed without traffic. */
const KEEPALIVE_MS = 30_000;

/**
 * The Node fast path for subscribers: takes over the response @hono/node-server hands in
 * `env.outgoing`, sends the head at once and gives the hub a {@link SocketSink}. Falls back to
 * the Web stream when the request did not come through a Node server (e.g. `app.request`).
 */
export const openSocketSink: SinkOpener = (init: SinkInit, env: unknown) => {
  const res = (env as { outgoing?: unknown } | undefined)?.outgoing;
  if (!(res instanceof ServerResponse) || !res.socket || res.headersSent) return undefined;
  const socket = res.socket;
  socket.setNoDelay(true);
  socket.setKeepAlive(true, KEEPALIVE_MS);
  res.writeHead(200, init.headers);
  res.flushHeaders();
  const sink = new SocketSink(res, socket, init);
  // This exact object (built before @hono/node-server swaps the global Response) tells it to keep off.
  return { sink, response: RESPONSE_ALREADY_SENT };
};
