import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { until } from '../support/until.ts';

let gw: TestGateway;
const sockets: Socket[] = [];
beforeAll(async () => {
  gw = await startTestGateway({ MAX_SUBSCRIBERS: '4', MAX_SUBSCRIBERS_PER_IP: '4' });
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await gw.close();
});

async function longJob(): Promise<string> {
  const response = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'pipelined --sim-steps 99 --sim-interval 1000', stream: false }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { jobid: string }).jobid;
}

/** One raw connection that sends every request in a single write and keeps what comes back. */
function pipeline(requests: string[]): { socket: Socket; received: () => string; closed: Promise<void> } {
  const { port } = new URL(gw.url);
  const socket = connect({ port: Number(port), host: '127.0.0.1' });
  sockets.push(socket);
  let text = '';
  socket.on('data', (chunk: Buffer) => void (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(requests.join(''));
  return { socket, received: () => text, closed };
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
const streamPath = (jobId: string) => `/v3/midjourney/jobs/${encodeURIComponent(jobId)}/stream`;

/** All four slots are free: four streams open at once (MAX_SUBSCRIBERS=4), then close. */
async function expectAllSlotsFree(jobId: string): Promise<void> {
  const controllers = Array.from({ length: 4 }, () => new AbortController());
  try {
    const responses = await Promise.all(controllers.map((c) => fetch(`${gw.url}${streamPath(jobId)}`, { signal: c.signal })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  } finally {
    for (const c of controllers) c.abort();
  }
  await until(() => gw.relay.counts().subscribers === 0, 'the four probe streams gone');
}

describe('HTTP/1.1 pipelining', () => {
  it('frees every pipelined stream request’s slot and hub subscriber when the client closes', async () => {
    const jobId = await longJob();
    const { socket, received, closed } = pipeline([get(streamPath(jobId)), get(streamPath(jobId)), get(streamPath(jobId))]);
    await until(() => received().includes('retry:'), 'the first stream started');
    // Every request was parsed and routed: three hub subscribers, three slots.
    await until(() => gw.relay.counts().subscribers === 3, 'three subscribers');
    socket.destroy();
    await closed;
    await until(() => gw.relay.counts().subscribers === 0, 'no subscriber left after the connection went');
    await expectAllSlotsFree(jobId);
  });

  it('frees a stream request queued behind a plain one, whichever the client closes on', async () => {
    const jobId = await longJob();
    const { socket, received, closed } = pipeline([get('/healthz'), get(streamPath(jobId))]);
    await until(() => received().includes('retry:'), 'the stream after /healthz started');
    expect(received()).toContain('{"ok":true}');
    socket.destroy();
    await closed;
    await until(() => gw.relay.counts().subscribers === 0, 'no subscriber left');
    await expectAllSlotsFree(jobId);
  });

  it('serves a stream request pipelined behind a stream that ends, on the same connection', async () => {
    const response = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'short --sim-steps 2 --sim-interval 5', stream: false }),
    });
    const { jobid } = (await response.json()) as { jobid: string };
    const { socket, received } = pipeline([get(streamPath(jobid)), get(streamPath(jobid))]);
    // Either both streams are answered in order, or the first closes the connection and says so.
    await until(() => {
      const text = received();
      return (text.match(/\r\n0\r\n\r\n/g) ?? []).length === 2 || (/connection: close/i.test(text) && text.includes('0\r\n\r\n'));
    }, 'the streams answered');
    socket.destroy();
    await until(() => gw.relay.counts().subscribers === 0, 'no subscriber left');
    await expectAllSlotsFree(jobid);
  });
});

describe('HTTP/1.0 and HEAD on the stream route', () => {
  it('answers an HTTP/1.0 client with the plain event stream, closed after the terminal event, and frees its slot', async () => {
    const response = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'old client --sim-steps 3 --sim-interval 20', stream: false }),
    });
    const { jobid } = (await response.json()) as { jobid: string };
    const { received, closed } = pipeline([`GET ${streamPath(jobid)} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`]);
    await closed;
    const [head, body = ''] = received().split('\r\n\r\n', 2);
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(head?.toLowerCase()).not.toContain('transfer-encoding');
    expect(body.startsWith('retry:')).toBe(true);
    expect(body).toMatch(/"status":"completed"/);
    await until(() => gw.relay.counts().subscribers === 0, 'no subscriber left');
    await expectAllSlotsFree(jobid);
  });

  it('answers HEAD with the SSE head and no body, opening no subscriber', async () => {
    const jobId = await longJob();
    const { socket, received } = pipeline([`HEAD ${streamPath(jobId)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`]);
    await until(() => received().includes('\r\n\r\n'), 'the head');
    expect(received()).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(received().toLowerCase()).toContain('content-type: text/event-stream');
    expect(gw.relay.counts().subscribers).toBe(0);
    socket.destroy();
    await expectAllSlotsFree(jobId);
  });
});
