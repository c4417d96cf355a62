import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { SinkInit, SinkOpener } from '../http/subscription-response.ts';
import { SocketSink } from './socket-sink.ts';

/** How often TCP probes an idle subscriber's connection, so a vanished peer is noticed without traffic. */
const KEEPALIVE_MS = 30_000;
/** An ended or cut-off stream whose client takes nothing for this long loses its socket (and the bytes it pins). */
export const END_GRACE_MS = 2_000;

/** The Node fast path for subscribers, and the connections it took from node:http (closed on shutdown). */
export interface SocketSinks {
  open: SinkOpener;
  /** Destroys every stream connection still open (node:http's closeAllConnections no longer sees them). */
  destroyAll(): void;
}

/**
 * Takes over the response @hono/node-server hands in `env.outgoing` and gives the hub a
 * {@link SocketSink}, which sends the head as soon as the response owns the socket. Declines (the
 * Web stream is used instead) when the request did not come through a Node server (e.g. `app.request`).
 */
export function createSocketSinks(): SocketSinks {
  const detached = new Set<Socket>();
  const forget = function (this: Socket) {
    detached.delete(this);
  };
  const onDetached = (socket: Socket) => {
    detached.add(socket);
    socket.once('close', forget);
  };
  return {
    open(init: SinkInit, env: unknown) {
      const { incoming, outgoing: res } = (env ?? {}) as { incoming?: unknown; outgoing?: unknown };
      if (!(res instanceof ServerResponse) || res.headersSent) return undefined;
      const req = incoming instanceof IncomingMessage ? incoming : null;
      // A pipelined request's response has no socket yet; the request always knows its connection.
      const socket = res.socket ?? req?.socket;
      if (!socket) return undefined;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, KEEPALIVE_MS);
      const sink = new SocketSink(res, req, socket, { ...init, endGraceMs: END_GRACE_MS, onDetached });
      // This exact object (built before @hono/node-server swaps the global Response) tells it to keep off.
      return { sink, response: RESPONSE_ALREADY_SENT };
    },
    destroyAll() {
      for (const socket of detached) socket.destroy();
      detached.clear();
    },
  };
}
