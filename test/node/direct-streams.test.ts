import { type Server, createServer } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DirectRequest } from '../../src/http/stream-shortcut.ts';
import {
  type DirectStreams,
  FIRST_BYTES_WAIT_MS,
  acceptNativeStreams,
  interceptStreamRequests,
  parseDirectHead,
} from '../../src/node/direct-streams.ts';
import { loadNativeEdge } from '../../src/node/native-edge.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { SECURED, createWithKey } from '../support/security.ts';
import { until } from '../support/until.ts';

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** A raw connection to `port`: what it receives, and when it closes. */
function open(port: number): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect({ port, host: '127.0.0.1' });
  sockets.push(socket);
  let text = '';
  socket.on('data', (chunk: Buffer) => void (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => text, closed };
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

describe('parseDirectHead', () => {
  const head = (text: string) => parseDirectHead(text);

  it('reads a plain GET: path, first value of each query key, headers by lower-case name', () => {
    const parsed = head('GET /v1/jobs/p/a%3Ab/stream?token=x.y-z&since=4&token=other HTTP/1.1\r\nHost: h:1\r\nLast-Event-ID:  7 \r\n\r\n');
    expect(parsed?.path).toBe('/v1/jobs/p/a%3Ab/stream');
    expect(Object.fromEntries(parsed?.query ?? [])).toEqual({ token: 'x.y-z', since: '4' });
    expect(Object.fromEntries(parsed?.headers ?? [])).toEqual({ host: 'h:1', 'last-event-id': '7' });
  });

  it.each([
    ['HEAD', 'HEAD /s HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['POST', 'POST /s HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['HTTP/1.0', 'GET /s HTTP/1.0\r\nHost: h\r\n\r\n'],
    ['an absolute target', 'GET http://h/s HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['no Host', 'GET /s HTTP/1.1\r\nAccept: */*\r\n\r\n'],
    ['a repeated header', 'GET /s HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n'],
    ['a body (Content-Length)', 'GET /s HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n'],
    ['a body (Transfer-Encoding)', 'GET /s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['an upgrade', 'GET /s HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n'],
    ['a folded header', 'GET /s HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n'],
    ['a bare LF', 'GET /s HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n'],
    ['a byte above ASCII', 'GET /s HTTP/1.1\r\nHost: h\r\nX-A: caf\u00e9\r\n\r\n'],
    ['a control byte', 'GET /s HTTP/1.1\r\nHost: h\r\nX-A: a\u0001b\r\n\r\n'],
    ['a space in the target', 'GET /s x HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['an encoded query', 'GET /s?token=a%2Bb HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a query with +', 'GET /s?token=a+b HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['an incomplete head', 'GET /s HTTP/1.1\r\nHost: h\r\n'],
    ['a pipelined request after it', 'GET /s HTTP/1.1\r\nHost: h\r\n\r\nGET /t HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a head over 8 KiB', `GET /s HTTP/1.1\r\nHost: h\r\nX-A: ${'a'.repeat(9000)}\r\n\r\n`],
  ])('leaves %s to node:http', (_what, text) => {
    expect(head(text)).toBeUndefined();
  });
});

/** A node:http server whose stream requests are read first by one of the two edges: node:net's (interceptStreamRequests) or the native one. */
interface Edge {
  direct: DirectStreams;
  port: number;
  close(): Promise<void>;
}

type Serve = (req: DirectRequest, answer: (text: string) => void) => Promise<boolean>;

const nativeEdge = loadNativeEdge();
const EDGES: Array<[string, ((server: Server, serve: Serve) => Promise<Edge>) | undefined]> = [
  [
    'node:net',
    async (server, serve) => {
      const direct = interceptStreamRequests(server, {
        serve: (req, socket) => serve(req, (text) => socket.end(text)),
        clientIp: (forwardedFor, peer) => forwardedFor ?? peer ?? 'unknown',
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return {
        direct,
        port: (server.address() as AddressInfo).port,
        async close() {
          direct.close();
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
        },
      };
    },
  ],
  [
    'the native edge',
    nativeEdge &&
      (async (server, serve) => {
        const edge = nativeEdge;
        const direct = acceptNativeStreams(
          edge,
          server,
          { host: '127.0.0.1', port: 0, backlog: 511 },
          {
            serve: (req, context) =>
              serve(req, (text) => {
                edge.stream(context.native);
                edge.write(context.native, Buffer.from(text, 'latin1'));
                edge.end(context.native);
              }),
            clientIp: (forwardedFor, peer) => forwardedFor ?? peer ?? 'unknown',
            endGraceMs: 2000,
            keepAliveS: 0,
          },
        );
        return {
          direct,
          port: direct.port,
          async close() {
            direct.stopListening();
            direct.close();
            direct.destroyPending();
            direct.destroyStreams();
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
          },
        };
      }),
  ],
];

// The native edge is built by `npm install` (node-gyp); where it could not be, its cases say so rather than pass.
it('has the native edge built (npm install runs node-gyp)', () => {
  expect(nativeEdge, 'build/Release/edge.node: run npm install with a C compiler').toBeDefined();
});

describe.each(EDGES.filter(([, start]) => start !== undefined))('%s on a node:http server', (_name, start) => {
  let server: Server;
  let direct: DirectStreams;
  let port: number;
  let edge: Edge;
  const served: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => void (body += chunk.toString()));
      req.on('end', () =>
        res.end(
          `node:http ${req.method} ${req.url} HTTP/${req.httpVersion} ${body}${Buffer.from(String(req.headers['x-bytes'] ?? ''), 'latin1').toString('hex')}|`,
        ),
      );
    });
    edge = await (start as NonNullable<typeof start>)(server, async (req, answer) => {
      if (req.query('fail') !== undefined) throw new Error('serve failed');
      if (!req.path.endsWith('/stream') || req.query('decline') !== undefined) return false;
      served.push(`${req.path} ${req.clientIp()} ${req.header('X-Custom') ?? ''}`);
      answer('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 6\r\n\r\ndirect');
      return true;
    });
    direct = edge.direct;
    port = edge.port;
  });
  afterAll(async () => {
    await edge.close();
  });

  it('serves a stream request itself, with its headers and the peer address', async () => {
    served.length = 0;
    const { socket, received, closed } = open(port);
    socket.write(get('/a/stream', 'X-Custom: yes\r\n'));
    await closed;
    expect(received()).toMatch(/\r\n\r\ndirect$/);
    expect(served).toEqual(['/a/stream 127.0.0.1 yes']);
  });

  it('hands a declined request to node:http with the same bytes; the connection then stays node:http’s (keep-alive)', async () => {
    const { socket, received } = open(port);
    socket.write(get('/a/stream?decline'));
    await until(() => received().includes('|'), 'the first answer');
    socket.write(get('/a/stream'));
    await until(() => received().split('|').length === 3, 'the second answer');
    expect(received()).toContain('node:http GET /a/stream?decline HTTP/1.1 |');
    expect(received()).toContain('node:http GET /a/stream HTTP/1.1 |');
    expect(received()).not.toContain('direct');
  });

  it('hands node:http a head with bytes beyond ASCII exactly as they came', async () => {
    const { socket, received } = open(port);
    socket.write(
      Buffer.concat([
        Buffer.from(get('/a/stream', 'X-Bytes: '), 'latin1').subarray(0, -2),
        Buffer.from('café \xff', 'utf8'),
        Buffer.from('\r\n\r\n'),
      ]),
    );
    await until(() => received().includes('|'), 'the answer');
    // node:http reads header bytes as latin1: back to bytes, they are the ones sent.
    expect(received()).toContain(`node:http GET /a/stream HTTP/1.1 ${Buffer.from('café \xff', 'utf8').toString('hex')}|`);
  });

  it('hands over when serve throws', async () => {
    const { socket, received } = open(port);
    socket.write(get('/a/stream?fail'));
    await until(() => received().includes('|'), 'the answer');
    expect(received()).toContain('node:http GET /a/stream?fail HTTP/1.1 |');
  });

  it('leaves pipelined requests, HEAD, HTTP/1.0 and split heads to node:http, in order', async () => {
    served.length = 0;
    const pipelined = open(port);
    pipelined.socket.write(get('/a/stream') + get('/b'));
    const head = open(port);
    head.socket.write('HEAD /a/stream HTTP/1.1\r\nHost: h\r\n\r\n');
    const old = open(port);
    old.socket.write('GET /a/stream HTTP/1.0\r\nHost: h\r\n\r\n');
    await until(() => pipelined.received().split('|').length === 3, 'both pipelined answers');
    expect(pipelined.received().indexOf('GET /a/stream')).toBeLessThan(pipelined.received().indexOf('GET /b'));
    await until(() => head.received().includes('200 OK'), 'the HEAD answer');
    await old.closed;
    expect(old.received()).toContain('node:http GET /a/stream HTTP/1.0');
    expect(served).toEqual([]);
  });

  it('leaves a head split over two packets to node:http', async () => {
    served.length = 0;
    const split = open(port);
    await until(() => direct.pending === 1, 'the connection accepted');
    split.socket.write('GET /a/str');
    await until(() => direct.pending === 0, 'the partial head handed over');
    split.socket.write('eam HTTP/1.1\r\nHost: h\r\n\r\n');
    await until(() => split.received().includes('|'), 'the split request answered');
    expect(split.received()).toContain('node:http GET /a/stream HTTP/1.1');
    expect(served).toEqual([]);
  });

  it('gives node:http a request whose body comes in a later packet', async () => {
    const { socket, received } = open(port);
    socket.write('POST /a/stream HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n');
    await until(() => direct.pending === 0, 'handed over');
    socket.write('hello');
    await until(() => received().includes('|'), 'the answer');
    expect(received()).toContain('node:http POST /a/stream HTTP/1.1 hello|');
  });

  it('hands a connection that says nothing to node:http after the first-bytes wait, and forgets one that closes', async () => {
    served.length = 0;
    const silent = open(port);
    const leaving = open(port);
    await until(() => direct.pending === 2, 'both connections pending');
    leaving.socket.end();
    await until(() => direct.pending === 1, 'the closed one forgotten');
    // Not yet due: nothing happens at the wait's edge.
    direct.sweep(performance.now());
    expect(direct.pending).toBe(1);
    direct.sweep(performance.now() + FIRST_BYTES_WAIT_MS + 1);
    expect(direct.pending).toBe(0);
    // node:http's now: even a stream request on it is its own.
    silent.socket.write(get('/a/stream'));
    await until(() => silent.received().includes('|'), 'the answer');
    expect(silent.received()).toContain('node:http GET /a/stream HTTP/1.1');
    expect(served).toEqual([]);
  });
});

describe.each([
  ['the native edge, writes batched through io_uring', 'true', 'true'],
  ['node:net', 'false', 'true'],
  ['the native edge, writes one send() each', 'true', 'false'],
])('the stream shortcut in the gateway, on %s', (_name, nativeEdgeSetting, ioUringSetting) => {
  let gw: TestGateway;
  let secured: TestGateway;
  beforeAll(async () => {
    const settings = { NATIVE_EDGE: nativeEdgeSetting, NATIVE_EDGE_IO_URING: ioUringSetting };
    [gw, secured] = await Promise.all([
      startTestGateway({ MAX_SUBSCRIBERS: '2', PUBLISHERS: `render:${'p'.repeat(32)}`, ...settings }),
      startTestGateway({ ...SECURED, ...settings }),
    ]);
    const listening = gw.logs.find((line) => line.includes('"msg":"sse-relay listening"')) ?? '';
    if (nativeEdgeSetting === 'false') expect(listening).toContain('"edge":"node:net"');
    else expect(listening).toContain(`"edge":"native","writes":"${ioUringSetting === 'true' ? 'io_uring' : 'send'}"`);
  });
  afterAll(async () => {
    await Promise.all([gw.close(), secured.close()]);
    // Batching is the process's: back to the default for what runs next.
    nativeEdge?.batch(true);
  });

  const portOf = (g: TestGateway) => Number(new URL(g.url).port);
  const publish = (body: unknown) =>
    fetch(`${gw.url}/v1/jobs/render/j1/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${'p'.repeat(32)}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const headOf = (text: string) =>
    text
      .slice(0, text.indexOf('\r\n\r\n'))
      .split('\r\n')
      .filter((line) => !/^(date|x-request-id):/i.test(line));

  it('answers a stream on a new connection exactly as the app does on a kept-alive one: head, frames, log line, count', async () => {
    expect((await publish({ seq: 1, event: 'progress', data: { p: 1 } })).status).toBe(200);
    const fresh = open(portOf(gw));
    fresh.socket.write(get('/v1/jobs/render/j1/stream', 'X-Request-Id: fresh-1\r\nOrigin: http://127.0.0.1\r\n'));
    // The app's path: the same request after another on a kept-alive connection (node:http has it then).
    const kept = open(portOf(gw));
    kept.socket.write(get('/healthz'));
    await until(() => kept.received().includes('{"ok":true}'), 'healthz');
    kept.socket.write(get('/v1/jobs/render/j1/stream', 'X-Request-Id: kept-1\r\nOrigin: http://127.0.0.1\r\n'));
    await until(() => fresh.received().includes('"p":1') && kept.received().includes('"p":1'), 'both streams replayed');
    const keptText = kept.received().slice(kept.received().indexOf('HTTP/1.1 200 OK\r\nContent-Type'));
    expect(headOf(fresh.received())).toEqual(headOf(keptText));
    expect(fresh.received()).toContain('X-Request-Id: fresh-1\r\n');
    expect(fresh.received().slice(fresh.received().indexOf('\r\n\r\n'))).toEqual(keptText.slice(keptText.indexOf('\r\n\r\n')));
    const lines = gw.logs.filter((line) => line.includes('"msg":"request"') && line.includes('/v1/jobs/render/j1/stream'));
    const [freshLine, keptLine] = ['fresh-1', 'kept-1'].map((id) => JSON.parse(lines.find((line) => line.includes(id)) ?? '{}'));
    expect(Object.keys(freshLine).sort()).toEqual(Object.keys(keptLine).sort());
    expect(freshLine).toMatchObject({ method: 'GET', path: '/v1/jobs/render/j1/stream', status: 200, ip: '127.0.0.1' });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/sse_relay_http_requests_total\{route="\/v1\/jobs\/:profile\/:jobid\/stream",method="GET",status="200"\} 2/);
  });

  it('frees the slot when the client goes, and leaves refusals, finished jobs and a bad resume point to the app', async () => {
    const first = open(portOf(gw));
    const second = open(portOf(gw));
    first.socket.write(get('/v1/jobs/render/j1/stream'));
    second.socket.write(get('/v1/jobs/render/j1/stream'));
    await until(() => first.received().includes('retry:') && second.received().includes('retry:'), 'two streams');
    // MAX_SUBSCRIBERS=2: the third is the app's 503, with its body.
    const third = open(portOf(gw));
    third.socket.write(get('/v1/jobs/render/j1/stream'));
    await until(() => third.received().includes('}'), 'the refusal');
    expect(third.received()).toMatch(/^HTTP\/1\.1 503 /);
    expect(third.received()).toContain('"code":"unavailable"');
    first.socket.destroy();
    await until(() => gw.relay.counts().subscribers + (gw.relays.get('render')?.counts().subscribers ?? 0) <= 1, 'the slot back');
    const fourth = open(portOf(gw));
    fourth.socket.write(get('/v1/jobs/render/j1/stream', 'Last-Event-ID: 1\r\n'));
    await until(() => fourth.received().includes('retry:'), 'a stream in the freed slot');
    expect(fourth.received()).not.toContain('"p":1');
    second.socket.destroy();
    fourth.socket.destroy();
    const bad = open(portOf(gw));
    bad.socket.write(get('/v1/jobs/render/j1/stream', 'Last-Event-ID: x\r\n'));
    await until(() => bad.received().includes('}'), 'the 400');
    expect(bad.received()).toMatch(/^HTTP\/1\.1 400 [\s\S]*Last-Event-ID must be an integer seq/);
    expect((await publish({ seq: 2, data: { done: true }, terminal: true })).status).toBe(200);
    const late = open(portOf(gw));
    late.socket.write(get('/v1/jobs/render/j1/stream', 'Last-Event-ID: 2\r\n'));
    await until(() => late.received().startsWith('HTTP/1.1 204'), 'the 204 after the end');
  });

  it('checks tokens as the app does: none is a 401, a token for the job streams', async () => {
    const { jobId, token } = await createWithKey(secured.url, 'shortcut tokens --sim-steps 3 --sim-interval 2000');
    const path = `/v3/midjourney/jobs/${encodeURIComponent(jobId)}/stream`;
    const without = open(portOf(secured));
    without.socket.write(get(path));
    await until(() => without.received().includes('}'), 'the 401');
    expect(without.received()).toMatch(/^HTTP\/1\.1 401 /);
    const withToken = open(portOf(secured));
    withToken.socket.write(get(`${path}?token=${token}`));
    await until(() => withToken.received().includes('retry:'), 'the stream');
    expect(withToken.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const uniform = open(portOf(secured));
    uniform.socket.write(get(`/v1/jobs/midjourney-v3/${jobId.replace(/:/g, '%3A')}/stream?token=${token}`));
    await until(() => uniform.received().includes('retry:'), 'the uniform stream');
  });
});
