import { lookup } from 'node:dns/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { isMainThread } from 'node:worker_threads';

/**
 * The native edge (native/edge.c, built by `npm install` with node-gyp): accepts plain HTTP
 * connections on Node's own event loop, reads each one's request head and calls `onHead`; a
 * stream's connection then stays in C and is written through `write`. A connection is a number
 * (a stale one names nothing: every call then answers -1).
 */
export interface NativeEdgeModule {
  /**
   * Listens on a numeric address; `onHead` gets each connection's first bytes (as latin1 text:
   * one character a byte) and its peer's address, `onClose` each stream's end. Every connection
   * has TCP_NODELAY, TCP_NOTSENT_LOWAT (128 KiB) and, when `keepAliveS` > 0, TCP keepalive after
   * that many idle seconds: options of the listening socket, which accepted sockets inherit (no
   * system call per connection).
   */
  listen(
    address: string,
    port: number,
    backlog: number,
    reusePort: boolean,
    keepAliveS: number,
    onHead: (id: number, head: string, peer: string) => void,
    onClose: (id: number) => void,
  ): [NativeListener, number];
  /**
   * A socket bound to `port` with SO_REUSEPORT, not listening: it holds the port (chosen here for
   * port 0) for a cluster's workers, which listen on it with `reusePort`. Returns [fd, port].
   */
  reserve(address: string, port: number): [number, number];
  unreserve(fd: number): void;
  /** Stops accepting and closes the listening socket. */
  unlisten(listener: NativeListener): void;
  /** The connection is a stream's: polled for its end from now on. */
  stream(id: number): number;
  /**
   * Writes `parts` (bytes, or text as latin1; at most 8, together at most 64 KiB unless one part
   * alone) as one write. Returns bytes queued in the edge after it (0: all in the kernel, or
   * batched), or -1 when the connection is gone. Batched writes go to the kernel together at
   * `submit` (or before anything else touches their connection, and before the event loop waits
   * in any case).
   */
  write(id: number, ...parts: Array<Uint8Array | string>): number;
  /** Hands the writes batched since the last call to the kernel, in one system call (io_uring). */
  submit(): void;
  /**
   * Whether writes are batched through io_uring (the default) or sent one `send()` each; returns
   * whether they are (false where the kernel or a seccomp profile refuses io_uring).
   */
  batch(on: boolean): boolean;
  queued(id: number): number;
  /** FIN once the queue is out; the client's close then runs `onClose`. */
  end(id: number): number;
  /** Closes now (with a reset when asked), without `onClose`. */
  destroy(id: number, reset: boolean): number;
  /** Gives the connection up: a descriptor of it, for a net.Socket. */
  release(id: number): number;
  /** Connections of `listener` that have sent nothing since before `beforeMs` (on `now()`'s clock). */
  expired(listener: NativeListener, beforeMs: number): number[];
  /** Connections whose request is not read or not decided. */
  pending(listener: NativeListener): number;
  closePending(listener: NativeListener): void;
  /** How often accepting paused because the process was out of descriptors (it resumes 100 ms later; the kernel queues meanwhile). */
  pauses(listener: NativeListener): number;
  /** The clock connections are stamped with, in ms (monotonic). */
  now(): number;
}

/** A listening socket of the native edge (opaque). */
export type NativeListener = { readonly brand: unique symbol };

let loaded: NativeEdgeModule | null | undefined;

/**
 * The native edge, or undefined where it was not built (no compiler at install: everything then
 * runs on node:net) or off a worker thread (its state is the main thread's).
 */
export function loadNativeEdge(): NativeEdgeModule | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  if (!isMainThread) return undefined;
  const require = createRequire(import.meta.url);
  // From src/node (sources) or dist (the bundle): build/ is at the package's root.
  for (const path of ['../../build/Release/edge.node', '../build/Release/edge.node']) {
    try {
      loaded = require(path) as NativeEdgeModule;
      break;
    } catch {}
  }
  return loaded ?? undefined;
}

/** A host name as the address the native edge binds (it takes numeric addresses). */
export async function numericHost(host: string): Promise<string> {
  return isIP(host) ? host : (await lookup(host)).address;
}

/** Set by a cluster's primary for its workers when it reserved the port for them (see NativeEdgeModule.reserve). */
export const REUSE_PORT_ENV = 'SSE_RELAY_EDGE_REUSE_PORT';
/** The message a cluster worker sends its primary once its edge listens: `{ type, port }`. */
export const EDGE_LISTENING = 'sse-relay:edge-listening';
