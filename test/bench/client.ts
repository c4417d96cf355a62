// The bench's subscribers: many raw HTTP/1.1 connections in one process, each reading an SSE
// stream and timing every event from its `sent_at` stamp. Deliberately lean (no EventSource).
import { type Socket, connect } from 'node:net';
import { serveIpc } from './ipc.ts';
import { SENT_AT_KEY, SEQ_KEY, epochMs } from './payload.ts';

const SEQ = Buffer.from(SEQ_KEY);
const SENT_AT = Buffer.from(SENT_AT_KEY);
const FRAME_END = Buffer.from('\n\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const ID_FIELD = Buffer.from('id: ');
const NEWLINE = 0x0a;
const COLON = 0x3a;

/** Latency histogram: 20 µs bins up to 60 s. */
const BIN_MS = 0.02;
const bins = new Uint32Array(Math.ceil(60_000 / BIN_MS));
let maxLatency = 0;

interface Conn {
  socket: Socket;
  port: number;
  path: string;
  localAddress: string | undefined;
  /** The highest seq and the last `id:` seen on this subscriber's streams (kept across a reconnect). */
  lastSeq: number;
  lastId: string | null;
  /** After a reconnect: the highest seq seen before it (an event at or below it again is a duplicate). */
  resumedAfter: number;
  /** The current phase's events seen, by seq − first seq (a second one is a duplicate). */
  seen: Uint8Array | null;
  carry: Buffer | null;
  headers: boolean;
  status: number;
  /** Events of the current phase received. */
  count: number;
  /** Resolves when headers arrived (or the connection failed). */
  onHead: ((ok: boolean) => void) | null;
  /** Join mode: resolves when `count` reaches this. */
  onCount: { target: number; done: () => void } | null;
}

const conns = new Set<Conn>();
let phaseFirstSeq = Number.MAX_SAFE_INTEGER;
let expected = 0;
let complete = 0;
let delivered = 0;
let firstRecv = 0;
let lastRecv = 0;
let closedByServer = 0;
let errors = 0;
/** Events one subscriber saw twice (across its reconnects, and within a phase). */
let dups = 0;
/** Phases up to this many events per subscriber track each event, to count duplicates. */
const TRACKED_MAX = 10_000;
/** Subscribers taken down by `drop`, waiting for `reconnect`. */
let dropped: Conn[] = [];
let completeWaiter: (() => void) | null = null;

function readNumber(buf: Buffer, at: number): [number, number] {
  let end = at;
  while (end < buf.length) {
    const c = buf[end] as number;
    if ((c >= 48 && c <= 57) || c === 46) end++;
    else break;
  }
  return [Number(buf.toString('latin1', at, end)), end];
}

function onFrames(conn: Conn, buf: Buffer, now: number): void {
  let pos = 0;
  for (;;) {
    const i = buf.indexOf(SEQ, pos);
    if (i < 0) return;
    const [seq, end] = readNumber(buf, i + SEQ.length);
    pos = end;
    if (seq <= conn.resumedAfter) {
      dups++;
      continue;
    }
    if (seq > conn.lastSeq) conn.lastSeq = seq;
    if (seq < phaseFirstSeq) continue;
    const seen = conn.seen;
    if (seen !== null && seq - phaseFirstSeq < seen.length) {
      if (seen[seq - phaseFirstSeq] === 1) {
        dups++;
        continue;
      }
      seen[seq - phaseFirstSeq] = 1;
    }
    if (end + SENT_AT.length > buf.length || buf.compare(SENT_AT, 0, SENT_AT.length, end, end + SENT_AT.length) !== 0) continue;
    const [sentAt, after] = readNumber(buf, end + SENT_AT.length);
    pos = after;
    const latency = now - sentAt;
    bins[Math.min(bins.length - 1, Math.max(0, Math.floor(latency / BIN_MS)))]!++;
    if (latency > maxLatency) maxLatency = latency;
    delivered++;
    if (firstRecv === 0) firstRecv = now;
    lastRecv = now;
    conn.count++;
    if (conn.count === expected) {
      complete++;
      if (complete >= conns.size && completeWaiter) completeWaiter();
    }
    if (conn.onCount && conn.count >= conn.onCount.target) conn.onCount.done();
  }
}

function onData(this: Socket, chunk: Buffer): void {
  const conn = (this as Socket & { conn: Conn }).conn;
  const now = epochMs();
  let buf = conn.carry ? Buffer.concat([conn.carry, chunk]) : chunk;
  conn.carry = null;
  if (!conn.headers) {
    const end = buf.indexOf(HEAD_END);
    if (end < 0) {
      conn.carry = buf;
      return;
    }
    conn.status = Number(buf.toString('latin1', 9, 12));
    conn.headers = true;
    conn.onHead?.(conn.status === 200);
    conn.onHead = null;
    buf = buf.subarray(end + HEAD_END.length);
  }
  const last = buf.lastIndexOf(FRAME_END);
  if (last < 0) {
    conn.carry = Buffer.from(buf);
    return;
  }
  // Complete frames only: a frame cut by the read is scanned once, when its end has arrived.
  const frames = buf.subarray(0, last + FRAME_END.length);
  const idAt = frames.lastIndexOf(ID_FIELD);
  if (idAt >= 0 && (idAt === 0 || frames[idAt - 1] === NEWLINE)) {
    const idEnd = frames.indexOf(NEWLINE, idAt);
    conn.lastId = frames.toString('latin1', idAt + ID_FIELD.length, idEnd);
  }
  onFrames(conn, frames, now);
  // Only a started SSE field (it has a colon) is worth keeping: HTTP chunk framing alone is not.
  const rest = last + FRAME_END.length;
  if (rest < buf.length && buf.indexOf(COLON, rest) >= 0) conn.carry = Buffer.from(buf.subarray(rest));
}

function onClose(this: Socket): void {
  const conn = (this as Socket & { conn: Conn }).conn;
  if (!conns.delete(conn)) return;
  closedByServer++;
  conn.onHead?.(false);
  if (conn.count >= expected) complete--;
  if (complete >= conns.size && completeWaiter) completeWaiter();
}

/**
 * One subscriber. `localAddress` spreads connections over loopback source addresses (each has its
 * own ~28k ephemeral ports). `resumed`: a subscriber reconnecting, with its `Last-Event-ID`.
 */
function openOne(port: number, path: string, localAddress?: string, resumed?: Conn): Promise<Conn | null> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true, ...(localAddress ? { localAddress } : {}) });
    const conn: Conn = {
      socket,
      port,
      path,
      localAddress,
      lastSeq: resumed?.lastSeq ?? -1,
      lastId: resumed?.lastId ?? null,
      resumedAfter: resumed?.lastSeq ?? -1,
      seen: expected <= TRACKED_MAX ? new Uint8Array(expected) : null,
      carry: null,
      headers: false,
      status: 0,
      count: 0,
      onHead: null,
      onCount: null,
    };
    (socket as Socket & { conn: Conn }).conn = conn;
    conn.onHead = (ok) => resolve(ok ? conn : null);
    socket.on('data', onData);
    socket.on('error', () => void errors++);
    socket.on('close', onClose);
    conns.add(conn);
    const resume = conn.lastId !== null ? `Last-Event-ID: ${conn.lastId}\r\n` : '';
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n${resume}\r\n`,
    );
  });
}

async function open(
  ports: number[],
  paths: string[],
  count: number,
  localAddresses: string[] = [],
  concurrency = 256,
): Promise<Record<string, unknown>> {
  const started = performance.now();
  let connected = 0;
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const port = ports[i % ports.length] as number;
      const path = paths[Math.floor(i / ports.length) % paths.length] as string;
      const conn = await openOne(port, path, localAddresses[i % localAddresses.length]);
      if (conn) connected++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { connected, failed, errors, ms: performance.now() - started };
}

/** Takes every subscriber but the first `keep` down at once, as when their instance dies. */
function drop(keep: number): Record<string, unknown> {
  const all = [...conns];
  for (const conn of all.slice(keep)) {
    conns.delete(conn);
    if (conn.count >= expected) complete--;
    conn.socket.destroy();
    dropped.push(conn);
  }
  if (complete >= conns.size && completeWaiter) completeWaiter();
  return { dropped: dropped.length, live: conns.size };
}

/**
 * Every dropped subscriber reconnects at once with its `Last-Event-ID` (to `port` when given: another
 * instance, as after its own died); resolves when all have their heads.
 */
async function reconnect(concurrency: number, port?: number): Promise<Record<string, unknown>> {
  const started = performance.now();
  const queue = dropped;
  dropped = [];
  let connected = 0;
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const prev = queue[next++] as Conn;
      const conn = await openOne(port ?? prev.port, prev.path, prev.localAddress, prev);
      if (conn) connected++;
      else failed++;
      // A subscriber that had seen the whole phase before it dropped has nothing to wait for.
      if (conn && conn.lastSeq >= phaseFirstSeq + expected - 1 && conn.count < expected) {
        conn.count = expected;
        complete++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  return { connected, failed, errors, ms: performance.now() - started };
}

function resetPhase(firstSeq: number, perConnection: number): void {
  dups = 0;
  bins.fill(0);
  maxLatency = 0;
  phaseFirstSeq = firstSeq;
  expected = perConnection;
  complete = 0;
  delivered = 0;
  firstRecv = 0;
  lastRecv = 0;
  for (const conn of conns) {
    conn.count = 0;
    conn.seen = perConnection <= TRACKED_MAX ? new Uint8Array(perConnection) : null;
  }
}

function phaseStats(): Record<string, unknown> {
  let missing = 0;
  for (const conn of conns) missing += Math.max(0, expected - conn.count);
  const cpu = process.cpuUsage();
  const hist: number[] = [];
  for (let i = 0; i < bins.length; i++) if (bins[i] !== 0) hist.push(i, bins[i] as number);
  return {
    cpuS: (cpu.user + cpu.system) / 1e6,
    binMs: BIN_MS,
    hist,
    delivered,
    missing,
    live: conns.size,
    dups,
    closedByServer,
    errors,
    firstRecv,
    lastRecv,
    max: maxLatency,
  };
}

function waitComplete(timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      completeWaiter = null;
      resolve({ ...phaseStats(), timedOut: complete < conns.size });
    };
    const timer = setTimeout(finish, timeoutMs);
    completeWaiter = finish;
    if (complete >= conns.size) finish();
  });
}

function waitAllClosed(timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = () => {
      if (conns.size === 0 || Date.now() > deadline) resolve({ live: conns.size, closedByServer });
      else setTimeout(check, 20);
    };
    check();
  });
}

/** Late joiners one after another: time from connecting to having received `frames` events. */
async function joins(port: number, path: string, frames: number, times: number): Promise<Record<string, unknown>> {
  const ms: number[] = [];
  let short = 0;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    resetPhase(0, Number.MAX_SAFE_INTEGER);
    const conn = await openOne(port, path);
    if (!conn) {
      short++;
      continue;
    }
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      if (conn.count >= frames) done();
      else conn.onCount = { target: frames, done };
    });
    if (ok) ms.push(performance.now() - started);
    else short++;
    conns.delete(conn);
    conn.socket.destroy();
  }
  ms.sort((a, b) => a - b);
  const at = (p: number) => ms[Math.min(ms.length - 1, Math.floor(ms.length * p))] ?? 0;
  return { joins: ms.length, short, p50: at(0.5), p99: at(0.99), max: ms[ms.length - 1] ?? 0 };
}

async function closeAll(): Promise<Record<string, unknown>> {
  for (const conn of [...conns]) {
    conns.delete(conn);
    conn.socket.destroy();
  }
  closedByServer = 0;
  errors = 0;
  return {};
}

serveIpc(async (message) => {
  switch (message.cmd) {
    case 'open':
      return open(message.ports as number[], message.paths as string[], message.count as number, message.localAddresses as string[]);
    case 'drop':
      return drop(message.keep as number);
    case 'reconnect':
      return reconnect(message.concurrency as number, message.port as number | undefined);
    case 'phase':
      resetPhase(message.firstSeq as number, message.perConnection as number);
      return {};
    case 'wait':
      return waitComplete(message.timeoutMs as number);
    case 'stats':
      return phaseStats();
    case 'waitClosed':
      return waitAllClosed(message.timeoutMs as number);
    case 'joins':
      return joins(message.port as number, message.path as string, message.frames as number, message.times as number);
    case 'closeAll':
      return closeAll();
    default:
      throw new Error(`unknown command ${String(message.cmd)}`);
  }
});
