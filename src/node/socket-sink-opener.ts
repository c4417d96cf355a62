import { IncomingMessage, ServerResponse } from 'node:http';
import { Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Http2Bindings, HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { SinkInit, SinkOpener } from '../http/subscription-response.ts';
import { Http2Sink } from './h2-sink.ts';
import { NativeSink, type NativeSinkSettings } from './native-sink.ts';
import { SocketSink, resetConnection } from './socket-sink.ts';

/**
 * How often TCP probes an idle subscriber's connection, so a vanished peer is noticed without
 * traffic. Only set where the hubs' heartbeats (HEARTBEAT_MS) are as far apart or further: TCP
 * probes a connection that has been idle that long, which a heartbeat never lets happen.
 */
export const KEEPALIVE_MS = 30_000;
/** The TCP keepalive idle time, in seconds, for streams whose hubs send heartbeats every `heartbeatMs` (0: none, see KEEPALIVE_MS). */
export function keepAliveSeconds(heartbeatMs: number | undefined): number {
  return (heartbeatMs ?? Number.POSITIVE_INFINITY) >= KEEPALIVE_MS ? KEEPALIVE_MS / 1000 : 0;
}

/** An ended or cut-off stream whose client takes nothing for this long loses its socket (and the bytes it pins). */
export const END_GRACE_MS = 2_000;

/**
 * The app's request context on Node: @hono/node-server's bindings (node:http's request and
 * response, or HTTP/2's); absent when the app is driven without a server (`app.request`).
 */
export type NodeContext = HttpBindings | Http2Bindings | DirectBindings | NativeBindings | undefined;

/** A stream request the Node edge read off its connection itself (stream-shortcut.ts): the connection, node:http never had it. */
export interface DirectBindings {
  direct: Socket;
}

/** A stream request the native edge read (direct-streams.ts): its connection there, and what its sinks share. */
export interface NativeBindings {
  native: number;
  edge: NativeSinkSettings;
}

/** The Node fast path for subscribers, and the connections it took from node:http (closed on shutdown). */
export interface SocketSinks {
  /** This request's sink, or undefined (the Web stream is used) when it did not come through a Node server. */
  open(init: SinkInit, context: NodeContext): ReturnType<SinkOpener>;
  /** Destroys every stream connection still open (node:http's closeAllConnections no longer sees them). */
  destroyAll(): void;
}

/**
 * Takes over the response @hono/node-server hands in its bindings (`outgoing`) and gives the hub a
 * {@link SocketSink}, which sends the head as soon as the response owns the socket. Declines (the
 * Web stream is used instead) when the request did not come through a node:http server (e.g. `app.request`).
 */
export function createSocketSinks(options: { heartbeatMs?: number } = {}): SocketSinks {
  // Heartbeats more often than TCP's keepalive would probe keep it from ever probing: no setsockopt calls for it then.
  const keepAlive = keepAliveSeconds(options.heartbeatMs) > 0;
  const detached = new Set<Socket>();
  const forget = function (this: Socket) {
    detached.delete(this);
  };
  const onDetached = (socket: Socket) => {
    detached.add(socket);
    socket.on('close', forget);
  };
  const settings = { endGraceMs: END_GRACE_MS, onDetached };
  return {
    open(init, context) {
      if (context && 'native' in context) {
        return { sink: new NativeSink(context.native, init, context.edge), response: RESPONSE_ALREADY_SENT };
      }
      if (context && 'direct' in context) {
        return {
          sink: new SocketSink(null, null, context.direct, init, settings),
          response: RESPONSE_ALREADY_SENT,
        };
      }
      const res = context?.outgoing;
      // HTTP/2: one stream of a shared connection, written on its own (see Http2Sink).
      if (res instanceof Http2ServerResponse && !res.headersSent)
        return { sink: new Http2Sink(res, { ...init, endGraceMs: END_GRACE_MS }), response: RESPONSE_ALREADY_SENT };
      if (!(res instanceof ServerResponse) || res.headersSent) return undefined;
      const req = context?.incoming instanceof IncomingMessage ? context.incoming : null;
      // A pipelined request's response has no socket yet; the request always knows its connection.
      const socket = res.socket ?? req?.socket;
      if (!socket) return undefined;
      socket.setNoDelay(true);
      if (keepAlive) socket.setKeepAlive(true, KEEPALIVE_MS);
      const sink = new SocketSink(res, req, socket, init, settings);
      // This exact object (built before @hono/node-server swaps the global Response) tells it to keep off.
      return { sink, response: RESPONSE_ALREADY_SENT };
    },
    destroyAll() {
      for (const socket of detached) resetConnection(socket);
      detached.clear();
    },
  };
}
