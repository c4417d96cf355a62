// The bench's reference: the simplest node:http SSE writer (no framework, no bus, no replay).
// GET /sub/<id> holds a response; POST /pub/<id> writes the body, framed once, to each of them.
import { type ServerResponse, createServer } from 'node:http';

const channels = new Map<string, Set<ServerResponse>>();
const server = createServer((req, res) => {
  const [, kind, id = ''] = (req.url ?? '').split('/');
  if (kind === 'healthz') return void res.end('ok');
  if (req.method === 'GET' && kind === 'sub') {
    const subs = channels.get(id) ?? new Set<ServerResponse>();
    channels.set(id, subs);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    subs.add(res);
    res.on('close', () => subs.delete(res));
    return;
  }
  if (kind !== 'pub') return void res.writeHead(404).end();
  const body: Buffer[] = [];
  req.on('data', (chunk: Buffer) => body.push(chunk));
  req.on('end', () => {
    const subs = channels.get(id) ?? new Set<ServerResponse>();
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
server.listen(Number(process.env.PORT), '127.0.0.1');
