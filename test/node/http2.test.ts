import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { type ClientHttp2Session, connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { until } from '../support/until.ts';

const STEPS = 3;
/** Events of a `--sim-steps 3` imagine job: initialized, created, started, three progress, completed. */
const EVENTS = STEPS + 4;

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl. */
function selfSigned(dir: string): { certFile: string; keyFile: string; cert: Buffer } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    // biome-ignore format: one openssl command line
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-keyout', keyFile, '-out', certFile,
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, cert: readFileSync(certFile) };
}

/** One request on the session; resolves with its status, headers and body text once it ends. */
function h2Request(session: ClientHttp2Session, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
    const stream = session.request(headers);
    let status = 0;
    let responseHeaders: Record<string, unknown> = {};
    let text = '';
    stream.setEncoding('utf8');
    stream.on('response', (head) => {
      status = Number(head[':status']);
      responseHeaders = head;
    });
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ status, headers: responseHeaders, text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

const parse = (text: string) => {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => void events.push(event) });
  parser.feed(text);
  return events;
};

describe('HTTP/2 over TLS (TLS_CERT_FILE, TLS_KEY_FILE), HTTP/1.1 on the same port', () => {
  let dir: string;
  let tls: ReturnType<typeof selfSigned>;
  let gw: TestGateway;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sse-relay-h2-'));
    tls = selfSigned(dir);
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
        const events = parse(stream.text);
        expect(events.map((event) => Number(event.id))).toEqual([...Array(EVENTS).keys()]);
        expect(JSON.parse(events.at(-1)?.data ?? '{}')).toMatchObject({ event: 'midjourney_completed' });
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
    expect(parse(stream.text).map((event) => Number(event.id))).toEqual([...Array(EVENTS).keys()]);
  });
});
