import { createServer } from 'node:http';
import { type Socket, connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SubscriberSink } from '../../src/core/fanout/hub.ts';
import { SSE_HEADERS } from '../../src/core/fanout/sse.ts';
import { type NativeStreams, acceptNativeStreams } from '../../src/node/direct-streams.ts';
import { loadNativeEdge } from '../../src/node/native-edge.ts';
import { createSocketSinks } from '../../src/node/socket-sink-opener.ts';
import { sendQueues, tcpStates, tcpTimers } from '../support/send-queues.ts';
import { until } from '../support/until.ts';

// The native edge's stream connections (native/edge.c through NativeSink): the same behaviour as
// test/node/socket-sink.test.ts asks of a node:net socket, on the edge's own connections.

const encoder = new TextEncoder();
const edge = loadNativeEdge();
const GRACE_MS = 300;

const edges: NativeStreams[] = [];
const clients: Socket[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
  for (const each of edges.splice(0)) {
    each.stopListening();
    each.close();
    each.destroyPending();
    each.destroyStreams();
  }
});

interface Opened {
  sink: SubscriberSink;
  closes: () => number;
  id: number;
}

/** An edge whose every stream request becomes a native sink; resolves with the first one and a raw client. */
async function sinkAndClient(
  maxQueuedBytes = 1 << 20,
  decided: Promise<void> = Promise.resolve(),
  keepAliveS = 0,
  headers: Record<string, string> = SSE_HEADERS,
) {
  if (!edge) throw new Error('the native edge is not built (npm install)');
  const sinks = createSocketSinks();
  let resolveOpened!: (opened: Opened) => void;
  const opened = new Promise<Opened>((resolve) => (resolveOpened = resolve));
  const streams = acceptNativeStreams(
    edge,
    createServer((_req, res) => res.end('node:http')),
    { host: '127.0.0.1', port: 0, backlog: 511 },
    {
      async serve(_req, context) {
        await decided;
        let closes = 0;
        const result = sinks.open({ headers: { ...headers }, maxQueuedBytes, onClose: () => void closes++ }, context);
        if (!result) throw new Error('no sink for a native connection');
        resolveOpened({ sink: result.sink, closes: () => closes, id: context.native });
        return true;
      },
      clientIp: (_forwardedFor, peer) => peer ?? 'unknown',
      endGraceMs: GRACE_MS,
      keepAliveS,
    },
  );
  edges.push(streams);
  const client = connect({ port: streams.port, host: '127.0.0.1' });
  clients.push(client);
  let text = '';
  client.on('data', (chunk: Buffer) => void (text += chunk.toString('latin1')));
  client.on('error', () => undefined);
  client.write('GET /stream HTTP/1.1\r\nHost: test\r\n\r\n');
  return { opened, client, received: () => text, port: streams.port, streams };
}

/** Writes until the sink refuses: the client does not read, the kernel's buffers and then the edge's queue fill. */
async function fillUntilRefused(sink: SubscriberSink, frameBytes: number): Promise<number> {
  const frame = encoder.encode(`data: ${'x'.repeat(frameBytes)}\n\n`);
  let accepted = 0;
  while (sink.write(frame)) {
    if (++accepted > 10_000) throw new Error('never refused');
    await new Promise((resolve) => setImmediate(resolve));
  }
  return accepted;
}

describe.runIf(edge).each([
  { writes: 'batched through io_uring', batched: true },
  { writes: 'one send() each', batched: false },
])('native sink (the native edge, writes $writes)', ({ batched }) => {
  beforeAll(() => {
    // This machine's kernel allows io_uring: the batched variant must really batch.
    expect(edge?.batch(batched)).toBe(batched);
  });
  afterAll(() => edge?.batch(true));

  it('sends the SSE head, then each write as one HTTP chunk, and ends with the last chunk and a FIN', async () => {
    const { opened, client, received } = await sinkAndClient();
    const { sink, closes } = await opened;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    expect(sink.write(encoder.encode('retry: 2000\n\n'))).toBe(true);
    const frame = encoder.encode('id: 1\ndata: {"a":"é"}\n\n');
    expect(sink.write(frame)).toBe(true);
    expect(sink.write(frame)).toBe(true);
    sink.end();
    await ended;
    const [head] = received().split('\r\n\r\n', 1) as [string];
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head.toLowerCase()).toContain('content-type: text/event-stream');
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
    expect(head.toLowerCase()).toContain('connection: close');
    const chunk = `${frame.byteLength.toString(16)}\r\n${Buffer.from(frame).toString('latin1')}\r\n`;
    expect(received().slice(head.length + 4)).toBe(`d\r\nretry: 2000\n\n\r\n${chunk}${chunk}0\r\n\r\n`);
    expect(closes()).toBe(1);
  });

  it('writes the head as latin1, byte for byte, in one write with the frames of its turn', async () => {
    const { opened, client, received } = await sinkAndClient(1 << 20, Promise.resolve(), 0, { ...SSE_HEADERS, 'X-Note': 'café ÿ' });
    const { sink } = await opened;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    const frames = Array.from({ length: 20 }, (_, i) => encoder.encode(`id: ${i}\ndata: ${i}\n\n`));
    // Up to eight parts (the head and seven chunks) are gathered by the edge, more are joined first: all arrive whole and in order.
    for (const frame of frames.slice(0, 7)) expect(sink.write(frame)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    for (const frame of frames.slice(7)) expect(sink.write(frame)).toBe(true);
    sink.end();
    await ended;
    const bytes = Buffer.from(received(), 'latin1');
    expect(bytes.includes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff]))).toBe(true);
    const body = received().slice(received().indexOf('\r\n\r\n') + 4);
    const expected = frames.map((frame) => `${frame.byteLength.toString(16)}\r\n${Buffer.from(frame).toString('latin1')}\r\n`).join('');
    expect(body).toBe(`${expected}0\r\n\r\n`);
  });

  it('refuses a write of no parts, of more than eight, or of a part that is neither bytes nor text, with a clear error', async () => {
    const { opened } = await sinkAndClient();
    const { id } = await opened;
    const write = edge?.write as (...args: unknown[]) => number;
    const part = encoder.encode('x');
    expect(() => write(id)).toThrow(/1 to 8 parts/);
    expect(() => write(id, ...Array.from({ length: 9 }, () => part))).toThrow(/1 to 8 parts/);
    expect(() => write(id, 42)).toThrow(/bytes, or text/);
    expect(() => write(id, part, { not: 'bytes' })).toThrow(/bytes or text/);
    expect(() => write(id, 'x'.repeat(70_000))).toThrow(/bytes, or text/);
    expect(write(id, part, 'y')).toBe(0);
  });

  it('delivers a turn of many writes, one longer than a copy (a replay), whole and in order, and the FIN after them', async () => {
    const { opened, client, received } = await sinkAndClient(8 << 20);
    const { sink } = await opened;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    const frames = [
      ...Array.from({ length: 300 }, (_, i) => encoder.encode(`id: ${i}\ndata: ${'r'.repeat(i)}\n\n`)),
      encoder.encode(`id: big\ndata: ${'b'.repeat(200_000)}\n\n`),
      encoder.encode('id: last\ndata: z\n\n'),
    ];
    for (const frame of frames) expect(sink.write(frame)).toBe(true);
    sink.end();
    await ended;
    const body = received().slice(received().indexOf('\r\n\r\n') + 4);
    const expected = frames.map((frame) => `${frame.byteLength.toString(16)}\r\n${Buffer.from(frame).toString('latin1')}\r\n`).join('');
    expect(body).toBe(`${expected}0\r\n\r\n`);
  });

  it('runs the disconnect path once when the client goes away, and refuses later writes', async () => {
    const { opened, client, streams } = await sinkAndClient();
    const { sink, closes, id } = await opened;
    client.destroy();
    await until(() => closes() === 1, 'the disconnect path');
    expect(sink.write(encoder.encode('data: x\n\n'))).toBe(false);
    sink.end();
    sink.end();
    expect(closes()).toBe(1);
    // The connection is gone from the edge: its id names nothing any more.
    expect(edge?.queued(id)).toBe(-1);
    expect(streams.pending).toBe(0);
  });

  it('is safe to end twice; a client that half-closes is gone', async () => {
    const { opened, received } = await sinkAndClient();
    const { sink, closes } = await opened;
    sink.end();
    sink.end();
    expect(sink.write(encoder.encode('data: late\n\n'))).toBe(false);
    await until(() => received().endsWith('0\r\n\r\n'), 'the last chunk');
    expect(received()).not.toContain('late');
    expect(closes()).toBe(1);
    const second = await sinkAndClient();
    const other = await second.opened;
    const closed = new Promise<void>((resolve) => second.client.once('close', () => resolve()));
    second.client.end();
    await until(() => other.closes() === 1, 'the half-closed client gone');
    await closed;
  });

  it('refuses writes once a client that does not read is further behind than the cap', async () => {
    const { opened, client } = await sinkAndClient(64 * 1024);
    client.pause();
    const { sink, closes, id } = await opened;
    expect(await fillUntilRefused(sink, 16 * 1024)).toBeGreaterThan(0);
    expect(edge?.queued(id)).toBeGreaterThan(0);
    expect(closes()).toBe(0);
    sink.end();
    expect(closes()).toBe(1);
  });

  it('resets the connection of a cut-off client that never reads, once the grace is over: the kernel keeps nothing for it', async () => {
    const { opened, client, port } = await sinkAndClient(64 * 1024);
    client.pause();
    const { sink, closes, id } = await opened;
    await fillUntilRefused(sink, 16 * 1024);
    sink.end();
    expect(closes()).toBe(1);
    expect(edge?.queued(id)).toBeGreaterThan(0);
    await until(
      () => sendQueues(port, client.localPort),
      (queues) => queues.length === 0,
      { intervalMs: 50, what: 'the cut-off connection reset' },
    );
    expect(edge?.queued(id)).toBe(-1);
  });

  it('bounds what the kernel holds unsent for a client that stops reading (TCP_NOTSENT_LOWAT): the rest queues in the edge, under the cap', async () => {
    const { opened, client, port } = await sinkAndClient(16 << 20);
    client.pause();
    const { sink, id } = await opened;
    const frame = encoder.encode(`data: ${'x'.repeat(64 * 1024)}\n\n`);
    // Write until the kernel takes no more and the edge starts queueing.
    for (let i = 0; (edge?.queued(id) ?? 0) === 0 && i < 2_000; i++) {
      sink.write(frame);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(edge?.queued(id)).toBeGreaterThan(0);
    // Without the bound, the kernel's send queue for it grows to tcp_wmem's maximum (≈ 3.8 MB here).
    const [queue] = sendQueues(port, client.localPort);
    expect(queue).toBeGreaterThan(0);
    expect(queue).toBeLessThanOrEqual(256 * 1024);
    sink.abort?.();
  });

  it("gives every connection TCP keepalive when asked (the listening socket's option, inherited): a stream's client that vanishes is found", async () => {
    const { opened, client, port } = await sinkAndClient(1 << 20, Promise.resolve(), 45);
    await opened;
    // ss shows a keepalive timer counting down from the idle time, in seconds.
    const [timer] = tcpTimers(port, client.localPort);
    expect(timer).toMatch(/^timer:\(keepalive,(4[0-5]|3\d)sec,0\)$/);
    const plain = await sinkAndClient();
    await plain.opened;
    expect(tcpTimers(plain.port, plain.client.localPort)).toEqual(['']);
  });

  it('resets an aborted stream: nothing it queued stays in the kernel for a client that stopped reading', async () => {
    const { opened, client, port } = await sinkAndClient(4 << 20);
    client.pause();
    const { sink, closes, id } = await opened;
    const frame = encoder.encode(`data: ${'x'.repeat(64 * 1024)}\n\n`);
    for (let i = 0; (edge?.queued(id) ?? 0) === 0 && i < 2_000; i++) {
      sink.write(frame);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(sendQueues(port, client.localPort).some((bytes) => bytes > 0)).toBe(true);
    sink.abort?.();
    expect(closes()).toBe(1);
    await until(
      () => sendQueues(port, client.localPort),
      (queues) => queues.length === 0,
      { intervalMs: 20, what: 'the backlog freed' },
    );
  });

  it('drops a client that keeps sending on a stream connection', async () => {
    const { opened, client } = await sinkAndClient();
    const { sink, closes } = await opened;
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.write(Buffer.alloc(256 * 1024, 0x41));
    await until(() => closes() === 1, 'the disconnect path');
    await gone;
    expect(sink.write(encoder.encode('data: x\n\n'))).toBe(false);
    expect(closes()).toBe(1);
  });

  it('a client that hangs up while its request is being decided: the stream opens, finds it gone and runs the disconnect path once', async () => {
    let decide!: () => void;
    const decided = new Promise<void>((resolve) => (decide = resolve));
    const { opened, client, streams, port } = await sinkAndClient(1 << 20, decided);
    await until(() => streams.pending === 1 && client.bytesWritten > 0, 'the request read');
    const peerPort = client.localPort;
    client.destroy();
    // The hang-up has reached the server's side, and the edge has had a turn of the loop to see it.
    await until(
      () => tcpStates(port, peerPort),
      (states) => states[0] === 'CLOSE-WAIT',
      { what: 'the hang-up arrived' },
    );
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    // The edge keeps the connection, out of its epoll set, until the decision (a hang-up is reported at every wait).
    expect(streams.pending).toBe(1);
    decide();
    const { sink, closes, id } = await opened;
    await until(() => closes() === 1, 'the disconnect path');
    expect(sink.write(encoder.encode('data: x\n\n'))).toBe(false);
    expect(edge?.queued(id)).toBe(-1);
    expect(streams.pending).toBe(0);
  });

  it('on shutdown resets every stream and runs each disconnect path once', async () => {
    const { opened, client, streams } = await sinkAndClient();
    const { closes } = await opened;
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    streams.destroyStreams();
    expect(closes()).toBe(1);
    await gone;
    streams.destroyStreams();
    expect(closes()).toBe(1);
  });
});
