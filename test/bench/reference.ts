// The bench's reference: the simplest node:http SSE writer (no framework, no bus, no replay).
// GET /sub/<id> holds a response; POST /pub/<id> writes the body, framed once, to each of them.
// REFERENCE=net: subscribers are read and answered on the raw node:net socket (no HTTP parser for
// them; anything else still goes to node:http): what a Node process pays per connection at least.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { Socket, createServer as createNetServer } from 'node:net';

/** A subscriber as the publish side sees it: a node:http response or a raw socket. */
type Subscriber = { write(bytes: Buffer): unknown; end(): unknown };
const channels = new Map<string, Set<Subscriber>>();
const join = (id: string, subscriber: Subscriber, closing: { once(event: 'close', fn: () => void): unknown }) => {
  const subs = channels.get(id) ?? new Set<Subscriber>();
  channels.set(id, subs);
  subs.add(subscriber);
  closing.once('close', () => subs.delete(subscriber));
};

const server = createServer((req, res) => {
  const [, kind, id = ''] = (req.url ?? '').split('/');
  if (kind === 'healthz') return void res.end('ok');
  if (req.method === 'GET' && kind === 'sub') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    join(id, res, res);
    return;
  }
  if (kind !== 'pub') return void res.writeHead(404).end();
  const body: Buffer[] = [];
  req.on('data', (chunk: Buffer) => body.push(chunk));
  req.on('end', () => {
    const subs = channels.get(id) ?? new Set<Subscriber>();
    if (req.method === 'DELETE') {
      for (const sub of subs) sub.end();
      channels.delete(id);
    } else {
      const frame = Buffer.from(`data: ${Buffer.concat(body).toString()}\n\n`);
      for (const sub of subs) sub.write(frame);
    }
    res.writeHead(201).end();
  });
});
server.keepAliveTimeout = 60_000;

const RAW_HEAD = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n');
const raw = createNetServer({ noDelay: true }, (socket: Socket) => {
  socket.on('error', () => undefined);
  socket.once('data', (chunk: Buffer) => {
    const line = chunk.toString('latin1', 0, Math.min(chunk.length, 256));
    if (!line.startsWith('GET /sub/')) {
      socket.pause();
      socket.unshift(chunk);
      server.emit('connection', socket);
      socket.resume();
      return;
    }
    join(line.slice(9, line.indexOf(' ', 9)), socket, socket);
    socket.write(RAW_HEAD);
  });
});

if (process.env.REFERENCE === 'native') {
  const edge = createRequire(import.meta.url)('../../build/Release/edge.node');
  const closers = new Map<number, () => void>();
  edge.listen(
    '127.0.0.1',
    Number(process.env.PORT),
    65_535,
    false,
    0,
    (id: number, head: string) => {
      const line = head.slice(0, 256);
      if (!line.startsWith('GET /sub/')) {
        const socket = new Socket({ fd: edge.release(id), readable: true, writable: true });
        socket.unshift(Buffer.from(head, 'latin1'));
        server.emit('connection', socket);
        return;
      }
      edge.stream(id);
      const sub = { write: (bytes: Buffer) => edge.write(id, bytes), end: () => edge.end(id) };
      join(line.slice(9, line.indexOf(' ', 9)), sub, { once: (_: 'close', fn: () => void) => closers.set(id, fn) });
      edge.write(id, RAW_HEAD);
    },
    (id: number) => {
      closers.get(id)?.();
      closers.delete(id);
    },
  );
} else {
  const listening = process.env.REFERENCE === 'net' ? raw : server;
  listening.listen({ port: Number(process.env.PORT), host: '127.0.0.1', backlog: 65_535 });
}
