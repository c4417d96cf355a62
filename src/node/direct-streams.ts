import type { Server } from 'node:http';
import { Socket } from 'node:net';
import type { DirectRequest } from '../http/stream-shortcut.ts';
import type { NativeEdgeModule } from './native-edge.ts';
import type { NativeSink, NativeSinkSettings } from './native-sink.ts';
import { afterSinksFlush } from './socket-sink.ts';
import type { NativeBindings } from './socket-sink-opener.ts';

/** The most a request head read directly may be (node:http's default limit is 16 KiB: a longer one goes to it). */
const MAX_HEAD_BYTES = 8 * 1024;
/** A connection that has sent nothing for this long goes to node:http, whose headersTimeout then applies. */
export const FIRST_BYTES_WAIT_MS = 10_000;
const HEAD_END = '\r\n\r\n';
/** The only requests read here: `GET`s in HTTP/1.1 (everything else goes to node:http untouched). */
const REQUEST_PREFIX = 'GET /';
const VERSION_SUFFIX = ' HTTP/1.1';
/** Bytes of a request target read here: printable ASCII without `#` or space; a `%` only in the path (the shortcut decodes a job id's `%3A` alone). */
const PLAIN_TARGET = /^[!"$-~]+$/;
/** A header line read here: a token name, a colon, a value of visible ASCII, spaces and tabs. */
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t\x20-\x7e]*?)[ \t]*$/;
/** Headers that mean a body, an upgrade or a continue: such requests go to node:http. */
const NOT_HERE = new Set(['content-length', 'transfer-encoding', 'upgrade', 'expect']);

/**
 * Reads one request head: a `GET` in HTTP/1.1 that is all of `bytes` (as latin1 text: one
 * character a byte), with a plain target, unique header names, a Host and nothing that means a
 * body. Anything else, however valid, gives undefined: node:http then parses the same bytes.
 */
export function parseDirectHead(bytes: string): { path: string; query: Map<string, string>; headers: Map<string, string> } | undefined {
  if (bytes.length > MAX_HEAD_BYTES || bytes.indexOf(HEAD_END) !== bytes.length - 4) return undefined;
  const head = bytes.slice(0, -4);
  if (!head.startsWith(REQUEST_PREFIX)) return undefined;
  const lines = head.split('\r\n');
  const line = lines[0] as string;
  if (!line.endsWith(VERSION_SUFFIX)) return undefined;
  const target = line.slice(4, line.length - VERSION_SUFFIX.length);
  if (!PLAIN_TARGET.test(target)) return undefined;
  const mark = target.indexOf('?');
  const path = mark < 0 ? target : target.slice(0, mark);
  const query = new Map<string, string>();
  if (mark >= 0) {
    for (const pair of target.slice(mark + 1).split('&')) {
      // Decoding a query is the app's (`+`, escapes).
      if (pair.includes('+') || pair.includes('%')) return undefined;
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      // The first of a repeated key, as the app reads it.
      if (key !== '' && !query.has(key)) query.set(key, eq < 0 ? '' : pair.slice(eq + 1));
    }
  }
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const match = HEADER_LINE.exec(lines[i] as string);
    if (!match) return undefined;
    const name = (match[1] as string).toLowerCase();
    if (headers.has(name) || NOT_HERE.has(name)) return undefined;
    headers.set(name, match[2] as string);
  }
  if (!headers.has('host')) return undefined;
  return { path, query, headers };
}

/** What both edges need: the client address rule. */
interface ClientIpRule {
  /** The client address for limits and the log, from X-Forwarded-For and the peer (as the app reads it). */
  clientIp(forwardedFor: string | undefined, peer: string | undefined): string;
}

export interface DirectStreamsOptions extends ClientIpRule {
  /** Serves a parsed stream request on `socket`: true when it did (the connection is the stream's now). */
  serve(req: DirectRequest, socket: Socket): Promise<boolean>;
}

/** The request view the shortcut reads, over a parsed head. */
function directRequest(
  parsed: NonNullable<ReturnType<typeof parseDirectHead>>,
  peer: string | undefined,
  rule: ClientIpRule,
): DirectRequest {
  const { path, query, headers } = parsed;
  return {
    method: 'GET',
    path,
    header: (name) => headers.get(name.toLowerCase()),
    query: (name) => query.get(name),
    origin: () => `http://${headers.get('host')}`,
    clientIp: () => rule.clientIp(headers.get('x-forwarded-for'), peer),
  };
}

export interface DirectStreams {
  /** Connections read here and not yet a stream's or node:http's. */
  readonly pending: number;
  /** Hands connections silent since before `now - FIRST_BYTES_WAIT_MS` to node:http (run every second; tests call it with their own clock). */
  sweep(now: number): void;
  /** Closes the connections still pending (shutdown). */
  destroyPending(): void;
  close(): void;
}

/**
 * Reads the first bytes of every connection to `server` before node:http does. A stream request
 * (see parseDirectHead) is offered to `serve`, which answers it without node:http's request and
 * response objects or the app's middleware; everything else, and any stream request `serve`
 * declines, is handed to node:http with the same bytes, as if it had read them itself (its
 * parser, timeouts, keep-alive, pipelining and connection tracking all apply from there).
 */
export function interceptStreamRequests(server: Server, options: DirectStreamsOptions): DirectStreams {
  const httpListeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  /** Connections read here, by when they came (for the first-bytes wait) or 0 once their request is being served. */
  const pending = new Map<Socket, number>();

  const handOff = (socket: Socket, chunk: Buffer | null) => {
    pending.delete(socket);
    socket.removeListener('data', onFirstData);
    socket.removeListener('end', onEarlyEnd);
    socket.removeListener('close', onEarlyClose);
    socket.removeListener('error', ignore);
    if (socket.destroyed) return;
    if (chunk) socket.unshift(chunk);
    for (const listener of httpListeners) listener.call(server, socket);
    socket.resume();
  };

  function onFirstData(this: Socket, chunk: Buffer): void {
    this.pause();
    this.removeListener('data', onFirstData);
    const parsed = parseDirectHead(chunk.toString('latin1'));
    if (!parsed) {
      handOff(this, chunk);
      return;
    }
    pending.set(this, 0);
    const req = directRequest(parsed, this.remoteAddress, options);
    options.serve(req, this).then(
      (served) => {
        if (!served) return handOff(this, chunk);
        pending.delete(this);
        this.removeListener('end', onEarlyEnd);
        this.removeListener('close', onEarlyClose);
      },
      () => handOff(this, chunk),
    );
  }

  function onConnection(socket: Socket): void {
    pending.set(socket, performance.now());
    socket.on('data', onFirstData);
    socket.on('end', onEarlyEnd);
    socket.on('close', onEarlyClose);
    socket.on('error', ignore);
  }
  server.on('connection', onConnection);

  // One sweep for every waiting connection, not a timer each.
  const sweep = (now: number) => {
    const due = now - FIRST_BYTES_WAIT_MS;
    for (const [socket, since] of pending) if (since !== 0 && since < due) handOff(socket, null);
  };
  const sweeper = setInterval(() => sweep(performance.now()), 1000);
  sweeper.unref();

  function onEarlyClose(this: Socket): void {
    pending.delete(this);
  }

  return {
    get pending() {
      return pending.size;
    },
    sweep,
    destroyPending() {
      for (const socket of pending.keys()) socket.destroy();
      pending.clear();
    },
    close() {
      clearInterval(sweeper);
    },
  };
}

/** A client that closes before its request was read has nothing more to say (node:http serves half-open ones it reads itself). */
function onEarlyEnd(this: Socket): void {
  this.destroy();
}

function ignore(): void {}

export interface NativeStreamsOptions extends ClientIpRule {
  /** Serves a parsed stream request on a connection of the edge: true when it did (the connection is the stream's now). */
  serve(req: DirectRequest, context: NativeBindings): Promise<boolean>;
  /** How long an ended stream may take to hand its last bytes over before its connection is closed. */
  endGraceMs: number;
  /** TCP keepalive idle time of the edge's connections in seconds, or 0 for none. */
  keepAliveS: number;
  /** Told, at most once a second, how often accepting has paused in all for want of file descriptors. */
  onPaused?(pauses: number): void;
}

export interface NativeStreams extends DirectStreams {
  /** The port the edge listens on. */
  readonly port: number;
  /** Stops accepting and closes the listening socket; connections stay. */
  stopListening(): void;
  /** Resets every stream's connection (shutdown), running each one's disconnect path. */
  destroyStreams(): void;
}

/**
 * The same as {@link interceptStreamRequests} with the native edge (native-edge.ts) accepting the
 * connections: `server` (node:http, never listening itself) gets every connection that is not a
 * stream, as a net.Socket made from the same descriptor with the bytes already read put back,
 * and a stream's connection is never a net.Socket at all (see NativeSink).
 */
export function acceptNativeStreams(
  edge: NativeEdgeModule,
  server: Server,
  address: { host: string; port: number; backlog: number; reusePort?: boolean },
  options: NativeStreamsOptions,
): NativeStreams {
  const streams = new Map<number, NativeSink>();
  // A turn's writes leave together, once every sink has flushed.
  afterSinksFlush(edge.submit);
  const settings: NativeSinkSettings = { edge, endGraceMs: options.endGraceMs, streams };
  const handOff = (id: number, head: string | null) => {
    const fd = edge.release(id);
    if (fd < 0) return;
    const socket = new Socket({ fd, readable: true, writable: true });
    // What net.Server sets on the sockets it accepts: node:http reports a socket's errors to its server.
    (socket as Socket & { server: Server }).server = server;
    if (head) socket.unshift(Buffer.from(head, 'latin1'));
    server.emit('connection', socket);
  };
  const handOffOrClose = (id: number, head: string | null) => {
    try {
      handOff(id, head);
    } catch {
      // No socket could be made of it (out of descriptors): the client is closed, not left hanging.
      edge.destroy(id, true);
    }
  };
  const onHead = (id: number, head: string, peer: string) => {
    const parsed = parseDirectHead(head);
    if (!parsed) return handOffOrClose(id, head);
    const req = directRequest(parsed, peer || undefined, options);
    let serving: Promise<boolean>;
    try {
      serving = options.serve(req, { native: id, edge: settings });
    } catch {
      serving = Promise.resolve(false);
    }
    serving.then(
      (served) => {
        if (!served) handOffOrClose(id, head);
      },
      () => handOffOrClose(id, head),
    );
  };
  const onClose = (id: number) => streams.get(id)?.gone();
  const [listener, port] = edge.listen(
    address.host,
    address.port,
    address.backlog,
    address.reusePort ?? false,
    options.keepAliveS,
    onHead,
    onClose,
  );
  // node:http tracks its connections (timeouts, closeAllConnections) once it has heard it listens.
  server.emit('listening');
  let pausesSeen = 0;
  const sweep = (now: number) => {
    const due = now - FIRST_BYTES_WAIT_MS + (edge.now() - performance.now());
    for (const id of edge.expired(listener, due)) handOffOrClose(id, null);
    const pauses = edge.pauses(listener);
    if (pauses > pausesSeen) {
      pausesSeen = pauses;
      options.onPaused?.(pauses);
    }
  };
  const sweeper = setInterval(() => sweep(performance.now()), 1000);
  sweeper.unref();
  let listening = true;
  return {
    port,
    get pending() {
      return edge.pending(listener);
    },
    sweep,
    destroyPending() {
      edge.closePending(listener);
    },
    stopListening() {
      if (!listening) return;
      listening = false;
      edge.unlisten(listener);
    },
    destroyStreams() {
      for (const [id, sink] of [...streams]) {
        edge.destroy(id, true);
        sink.gone();
      }
    },
    close() {
      clearInterval(sweeper);
    },
  };
}
