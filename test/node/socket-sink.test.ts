import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SubscriberSink } from '../../src/core/fanout/hub.ts';
import { SSE_HEADERS } from '../../src/core/fanout/sse.ts';
import { type NodeContext, createSocketSinks } from '../../src/node/socket-sink-opener.ts';
import { sendQueues } from '../support/send-queues.ts';
import { until } from '../support/until.ts';

const encoder = new TextEncoder();

const servers: Server[] = [];
const sockets: Socket[] = [];
const sinks = createSocketSinks();
const openSocketSink = sinks.open;

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  sinks.destroyAll();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

interface Opened {
  sink: SubscriberSink;
  closes: () => number;
  res: ServerResponse;
  /** The server's side of the connection. */
  socket: Socket;
}

/** A server whose every request becomes a socket sink; resolves with the first one and a raw client. */
async function sinkAndClient(
  maxQueuedBytes = 1 << 20,
  version = 'HTTP/1.1',
): Promise<{ opened: Promise<Opened>; client: Socket; received: () => string }> {
  let resolveOpened!: (opened: Opened) => void;
  const opened = new Promise<Opened>((resolve) => (resolveOpened = resolve));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let closes = 0;
    const socket = req.socket;
    const result = openSocketSink(
      { headers: { ...SSE_HEADERS }, maxQueuedBytes, onClose: () => void closes++ },
      { incoming: req, outgoing: res },
    );
    if (!result) throw new Error('no sink for a Node response');
    resolveOpened({ sink: result.sink, closes: () => closes, res, socket });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' });
  sockets.push(client);
  let text = '';
  client.on('data', (chunk: Buffer) => void (text += chunk.toString('latin1')));
  client.on('error', () => undefined);
  client.write(`GET /stream ${version}\r\nHost: test\r\n\r\n`);
  return { opened, client, received: () => text };
}

describe('socket sink (Node fast path)', () => {
  it('sends the SSE head, then each write as one HTTP chunk, and ends with the last chunk', async () => {
    const { opened, received } = await sinkAndClient();
    const { sink, closes } = await opened;
    expect(sink.write(encoder.encode('retry: 2000\n\n'))).toBe(true);
    const frame = encoder.encode('id: 1\ndata: {"a":"é"}\n\n');
    expect(sink.write(frame)).toBe(true);
    expect(sink.write(frame)).toBe(true);
    sink.end();
    await until(() => received().endsWith('0\r\n\r\n'));
    const [head, body] = received().split('\r\n\r\n', 2) as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(head.toLowerCase()).toContain('content-type: text/event-stream');
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
    expect(head.toLowerCase()).toContain('connection: close');
    const chunk = `${frame.byteLength.toString(16)}\r\n${Buffer.from(frame).toString('latin1')}\r\n`;
    expect(received().slice(head.length + 4)).toBe(`d\r\nretry: 2000\n\n\r\n${chunk}${chunk}0\r\n\r\n`);
    expect(body.length).toBeGreaterThan(0);
    expect(closes()).toBe(1);
  });

  it('runs the disconnect path once when the client goes away, and refuses later writes', async () => {
    const { opened, client } = await sinkAndClient();
    const { sink, closes } = await opened;
    client.destroy();
    await until(() => closes() === 1);
    expect(sink.write(encoder.encode('data: x\n\n'))).toBe(false);
    sink.end();
    sink.end();
    expect(closes()).toBe(1);
  });

  it('is safe to end twice', async () => {
    const { opened, received } = await sinkAndClient();
    const { sink, closes } = await opened;
    sink.end();
    sink.end();
    expect(sink.write(encoder.encode('data: late\n\n'))).toBe(false);
    await until(() => received().endsWith('0\r\n\r\n'));
    expect(received()).not.toContain('late');
    expect(closes()).toBe(1);
  });

  it('refuses writes once a client that does not read is further behind than the cap', async () => {
    const { opened, client } = await sinkAndClient(64 * 1024);
    client.pause();
    const { sink, closes } = await opened;
    const frame = encoder.encode(`data: ${'x'.repeat(16 * 1024)}\n\n`);
    let accepted = 0;
    while (sink.write(frame)) {
      accepted++;
      if (accepted > 10_000) throw new Error('never refused');
      // Let the corked writes reach the socket so its queue grows.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(accepted).toBeGreaterThan(0);
    expect(closes()).toBe(0);
    sink.end();
    expect(closes()).toBe(1);
  });

  it('destroys the socket of a cut-off client that never reads, once the grace is over', async () => {
    const { opened, client } = await sinkAndClient(64 * 1024);
    client.pause();
    const { sink, closes, socket } = await opened;
    const server = servers[0] as Server;
    const frame = encoder.encode(`data: ${'x'.repeat(16 * 1024)}\n\n`);
    let accepted = 0;
    while (sink.write(frame)) {
      if (++accepted > 10_000) throw new Error('never refused');
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The hub cuts it off: end() queues behind the backlog the client never takes.
    sink.end();
    expect(closes()).toBe(1);
    expect(socket.writableLength).toBeGreaterThan(0);
    const connections = () => new Promise<number>((resolve) => server.getConnections((_err, n) => resolve(n)));
    await until(connections, (open) => open === 0, { intervalMs: 50, what: 'the cut-off socket destroyed' });
    expect(socket.destroyed).toBe(true);
    // Reset, not closed: the kernel keeps no orphan holding the backlog (FIN-WAIT-1 with a send queue).
    const port = (server.address() as AddressInfo).port;
    expect(sendQueues(port, client.localPort)).toEqual([]);
  });

  it('resets an aborted stream: nothing it queued stays in the kernel for a client that stopped reading', async () => {
    const { opened, client } = await sinkAndClient(4 << 20);
    client.pause();
    const { sink, socket } = await opened;
    const frame = encoder.encode(`data: ${'x'.repeat(64 * 1024)}\n\n`);
    // Fill the kernel's buffers: the socket's own queue grows once they are full.
    for (let i = 0; socket.writableLength === 0 && i < 2_000; i++) {
      sink.write(frame);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const port = ((servers[0] as Server).address() as AddressInfo).port;
    expect(sendQueues(port, client.localPort).some((bytes) => bytes > 0)).toBe(true);
    sink.abort?.();
    await until(
      () => sendQueues(port, client.localPort),
      (queues) => queues.length === 0,
      { intervalMs: 20, what: 'the backlog freed' },
    );
  });

  it('closes the connection after the last chunk, once node:http has let go of it', async () => {
    const { opened, client, received } = await sinkAndClient();
    const { sink, res } = await opened;
    // node:http no longer holds the connection: its response and parser are free.
    await until(() => res.socket === null);
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    sink.write(encoder.encode('data: last\n\n'));
    sink.end();
    await ended;
    expect(received().endsWith('data: last\n\n\r\n0\r\n\r\n')).toBe(true);
  });

  it('answers an HTTP/1.0 client with a plain body, ended by closing the connection', async () => {
    const { opened, client, received } = await sinkAndClient(1 << 20, 'HTTP/1.0');
    const { sink } = await opened;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    sink.write(encoder.encode('data: one\n\n'));
    sink.end();
    await ended;
    const [head, body] = received().split('\r\n\r\n', 2) as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(head.toLowerCase()).not.toContain('transfer-encoding');
    expect(body).toBe('data: one\n\n');
  });

  it('drops a client that keeps sending on a stream connection', async () => {
    const { opened, client } = await sinkAndClient();
    const { sink, closes, socket } = await opened;
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.write(Buffer.alloc(256 * 1024, 0x41));
    await until(() => closes() === 1, 'the disconnect path');
    // Cut past its inbound bound (64 KiB): the server's socket destroyed, the client's connection closed.
    expect(socket.destroyed).toBe(true);
    expect(socket.bytesRead).toBeGreaterThan(64 * 1024);
    await gone;
    expect(client.destroyed).toBe(true);
    expect(sink.write(encoder.encode('data: x\n\n'))).toBe(false);
    expect(closes()).toBe(1);
  });

  it('declines (falls back to the Web stream) without a Node response', () => {
    expect(openSocketSink({ headers: {}, maxQueuedBytes: 1, onClose: () => undefined }, undefined)).toBeUndefined();
    // A response that is not node:http's (as HTTP/2's would be).
    const foreign = { outgoing: {} } as unknown as NodeContext;
    expect(openSocketSink({ headers: {}, maxQueuedBytes: 1, onClose: () => undefined }, foreign)).toBeUndefined();
  });
});
