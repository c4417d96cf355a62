import { type Http2ServerResponse, connect, constants, createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Http2Sink } from '../../src/node/h2-sink.ts';
import { until } from '../support/until.ts';

/** A cleartext HTTP/2 server (h2c) whose one stream becomes an Http2Sink; the test writes to it. */
async function sinkServer(maxQueuedBytes: number) {
  const closes: number[] = [];
  let sink: Http2Sink | undefined;
  const server = createServer((_req, res: Http2ServerResponse) => {
    sink = new Http2Sink(res, {
      headers: { 'Content-Type': 'text/event-stream', Connection: 'keep-alive' },
      maxQueuedBytes,
      endGraceMs: 50,
      onClose: () => void closes.push(Date.now()),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url, closes, sink: () => sink };
}

describe('Http2Sink: one subscriber on an HTTP/2 stream', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const step of cleanup.splice(0)) step();
  });

  it('sends the head without connection headers, frames as written, and a clean end', async () => {
    const { server, url, closes, sink } = await sinkServer(1 << 20);
    const session = connect(url);
    cleanup.push(
      () => session.destroy(),
      () => server.close(),
    );
    const stream = session.request({ ':path': '/' });
    let text = '';
    let head: Record<string, unknown> = {};
    stream.on('response', (headers) => (head = headers));
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    await until(sink, 'the sink');
    expect(sink()?.write(new TextEncoder().encode('data: 1\n\n'))).toBe(true);
    sink()?.end();
    sink()?.end();
    await ended;
    expect(text).toBe('data: 1\n\n');
    expect(head[':status']).toBe(200);
    expect(head.connection).toBeUndefined();
    expect(closes).toHaveLength(1);
  });

  it('refuses writes past the bound for a client that reads nothing, and an abort resets the stream', async () => {
    const { server, url, closes, sink } = await sinkServer(64 * 1024);
    const session = connect(url, { settings: { initialWindowSize: 1024 } });
    cleanup.push(
      () => session.destroy(),
      () => server.close(),
    );
    const stream = session.request({ ':path': '/' });
    stream.pause();
    const reset = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode)));
    stream.on('error', () => undefined);
    await until(sink, 'the sink');
    const frame = new Uint8Array(4096);
    let accepted = 0;
    while (sink()?.write(frame) && accepted < 1000) accepted++;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(20);
    sink()?.abort();
    expect(await reset).toBe(constants.NGHTTP2_INTERNAL_ERROR);
    expect(closes).toHaveLength(1);
  });

  it('runs the disconnect path once when the client resets the stream', async () => {
    const { server, url, closes, sink } = await sinkServer(1 << 20);
    const session = connect(url);
    cleanup.push(
      () => session.destroy(),
      () => server.close(),
    );
    const stream = session.request({ ':path': '/' });
    stream.on('error', () => undefined);
    await until(sink, 'the sink');
    stream.close(constants.NGHTTP2_CANCEL);
    await until(() => closes.length === 1, 'the disconnect path');
    expect(sink()?.write(new Uint8Array(1))).toBe(false);
    sink()?.end();
    expect(closes).toHaveLength(1);
  });
});
