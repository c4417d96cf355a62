import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { h2Request, parseSse } from '../support/h2.ts';
import { selfSignedCertificate } from '../support/tls.ts';
import { until } from '../support/until.ts';

const STEPS = 3;
/** Events of a `--sim-steps 3` imagine job: initialized, created, started, three progress, completed. */
const EVENTS = STEPS + 4;

describe('HTTP/2 over TLS (TLS_CERT_FILE, TLS_KEY_FILE), HTTP/1.1 on the same port', () => {
  let dir: string;
  let tls: ReturnType<typeof selfSignedCertificate>;
  let gw: TestGateway;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sse-relay-h2-'));
    tls = selfSignedCertificate(dir);
    gw = await startTestGateway({ TLS_CERT_FILE: tls.certFile, TLS_KEY_FILE: tls.keyFile });
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves 10 job streams over one connection, every one with every event', async () => {
    expect(gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const session = connect(gw.url, { ca: tls.cert });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const created = await h2Request(
          session,
          { ':method': 'POST', ':path': '/v3/midjourney/jobs/imagine', 'content-type': 'application/json' },
          JSON.stringify({ prompt: `h2 ${i} --sim-steps ${STEPS} --sim-interval 30`, stream: false }),
        );
        expect(created.status).toBe(201);
        ids.push((JSON.parse(created.text) as { jobid: string }).jobid);
      }
      const streams = await Promise.all(
        ids.map((id) => h2Request(session, { ':method': 'GET', ':path': `/v1/jobs/midjourney-v3/${encodeURIComponent(id)}/stream` })),
      );
      expect(session.alpnProtocol).toBe('h2');
      for (const stream of streams) {
        expect(stream.status).toBe(200);
        expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
        const events = parseSse(stream.text);
        expect(events.map((event) => Number(event.id))).toEqual([...Array(EVENTS).keys()]);
        expect(JSON.parse(events.at(-1)?.data ?? '{}')).toMatchObject({ event: 'midjourney_completed' });
      }
    } finally {
      session.close();
    }
  });

  it('carries the multiplexed stream too: three jobs on one h2 stream, each to its terminal event', async () => {
    const session = connect(gw.url, { ca: tls.cert });
    try {
      const jobs: string[] = [];
      for (let i = 0; i < 3; i++) {
        const created = await h2Request(
          session,
          { ':method': 'POST', ':path': '/v3/midjourney/jobs/imagine', 'content-type': 'application/json' },
          JSON.stringify({ prompt: `h2 mux ${i} --sim-steps ${STEPS} --sim-interval 30`, stream: false }),
        );
        jobs.push(`midjourney-v3/${encodeURIComponent((JSON.parse(created.text) as { jobid: string }).jobid)}`);
      }
      const mux = await h2Request(session, { ':method': 'GET', ':path': `/v1/stream?jobs=${jobs.join(',')}` });
      expect(mux.status).toBe(200);
      const frames = parseSse(mux.text).map((event) => JSON.parse(event.data) as { job: string; seq: number; terminal: boolean });
      for (const job of jobs) {
        const own = frames.filter((frame) => frame.job === decodeURIComponent(job));
        expect(
          own.map((frame) => frame.seq),
          job,
        ).toEqual([...Array(EVENTS).keys()]);
        expect(own.at(-1)?.terminal).toBe(true);
      }
    } finally {
      session.close();
    }
  });

  it('runs the disconnect path when a client resets its stream, and keeps the connection for others', async () => {
    const session = connect(gw.url, { ca: tls.cert });
    try {
      const created = await h2Request(
        session,
        { ':method': 'POST', ':path': '/v3/midjourney/jobs/imagine', 'content-type': 'application/json' },
        JSON.stringify({ prompt: 'h2 long --sim-steps 50 --sim-interval 200', stream: false }),
      );
      const { jobid } = JSON.parse(created.text) as { jobid: string };
      const stream = session.request({ ':method': 'GET', ':path': `/v1/jobs/midjourney-v3/${encodeURIComponent(jobid)}/stream` });
      stream.on('error', () => undefined);
      await new Promise((resolve) => stream.once('data', resolve));
      expect(gw.relay.counts().subscribers).toBe(1);
      stream.close();
      await until(() => gw.relay.counts().subscribers === 0, 'the subscriber gone');
      expect((await h2Request(session, { ':method': 'GET', ':path': '/healthz' })).text).toBe('{"ok":true}');
    } finally {
      session.close();
    }
  });

  it('still speaks HTTP/1.1 on the same port (a client without h2 in ALPN)', async () => {
    const { port } = new URL(gw.url);
    const created = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/v3/midjourney/jobs/imagine',
          method: 'POST',
          ca: tls.cert,
          headers: { 'Content-Type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ prompt: `h1 --sim-steps ${STEPS} --sim-interval 30`, stream: false }));
    });
    const { jobid } = JSON.parse(created) as { jobid: string };
    const stream = await new Promise<{ version: string; text: string }>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port, path: `/v1/jobs/midjourney-v3/${encodeURIComponent(jobid)}/stream`, ca: tls.cert },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ version: res.httpVersion, text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(stream.version).toBe('1.1');
    expect(parseSse(stream.text).map((event) => Number(event.id))).toEqual([...Array(EVENTS).keys()]);
  });

  it('ends open HTTP/2 streams and closes their connections on shutdown (last: it stops the gateway)', async () => {
    const session = connect(gw.url, { ca: tls.cert });
    session.on('error', () => undefined);
    const closed = new Promise((resolve) => session.once('close', resolve));
    const created = await h2Request(
      session,
      { ':method': 'POST', ':path': '/v3/midjourney/jobs/imagine', 'content-type': 'application/json' },
      JSON.stringify({ prompt: 'h2 shutdown --sim-steps 50 --sim-interval 200', stream: false }),
    );
    const { jobid } = JSON.parse(created.text) as { jobid: string };
    const stream = session.request({ ':method': 'GET', ':path': `/v1/jobs/midjourney-v3/${encodeURIComponent(jobid)}/stream` });
    stream.on('error', () => undefined);
    const ended = new Promise((resolve) => stream.once('close', resolve));
    await new Promise((resolve) => stream.once('data', resolve));
    await gw.close();
    await Promise.all([ended, closed]);
    expect(gw.relay.counts().subscribers).toBe(0);
  });
});
