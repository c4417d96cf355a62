import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { h2Request, parseSse } from '../support/h2.ts';
import { API_KEY, SECURED } from '../support/security.ts';
import { selfSignedCertificate } from '../support/tls.ts';
import { until } from '../support/until.ts';

const NGINX = '/usr/sbin/nginx';
const root = join(import.meta.dirname, '../..');
const shipped = readFileSync(join(root, 'deploy/nginx-http2.conf'), 'utf8');

/** The shipped server blocks with this machine's addresses: the instances, the ports, the certificate. */
function localized(upstream: string, ports: { http: number; https: number }, tls: { certFile: string; keyFile: string }): string {
  const config = shipped
    .replace(/server relay-[ab]:8080;/g, `server ${upstream};`)
    .replace('listen 80;', `listen 127.0.0.1:${ports.http};`)
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${ports.https} ssl http2;`)
    .replace('/etc/nginx/tls/cert.pem', tls.certFile)
    .replace('/etc/nginx/tls/key.pem', tls.keyFile);
  const directives = config.replace(/#.*$/gm, '');
  if (/relay-[ab]:/.test(directives) || directives.includes('/etc/nginx') || /listen (80|443)\b/.test(directives))
    throw new Error('deploy/nginx-http2.conf changed shape: adapt this test');
  return config;
}

describe.skipIf(!existsSync(NGINX))('deploy/nginx-http2.conf in a real nginx: HTTP/2 to the browser, HTTP/1.1 to the instances', () => {
  let dir: string;
  let gw: TestGateway;
  let nginx: ChildProcess;
  let https: string;
  let http: string;
  let cert: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sse-relay-nginx-h2-'));
    const tls = selfSignedCertificate(dir);
    cert = tls.cert;
    // As behind the shipped proxy in production: API keys, the proxy's X-Forwarded-For trusted.
    gw = await startTestGateway({ ...SECURED, TRUST_PROXY: 'true' });
    const ports = { http: await freePort(), https: await freePort() };
    for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, temp));
    writeFileSync(join(dir, 'site.conf'), localized(new URL(gw.url).host, ports, tls));
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`,
    );
    nginx = spawn(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
      stdio: 'ignore',
    });
    https = `https://127.0.0.1:${ports.https}`;
    http = `http://127.0.0.1:${ports.http}`;
    await until(
      () =>
        fetch(`${http}/healthz`, { redirect: 'manual' }).then(
          (response) => response.status === 308,
          () => false,
        ),
      { timeoutMs: 10_000, what: 'nginx listening' },
    );
  });
  afterAll(async () => {
    if (nginx?.exitCode === null) {
      const exited = new Promise((resolve) => nginx.once('exit', resolve));
      nginx.kill('SIGTERM');
      await exited;
    }
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const response = await fetch(`${http}/v1/jobs/x/y/stream`, { redirect: 'manual' });
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe('https://127.0.0.1/v1/jobs/x/y/stream');
  });

  it('carries 10 job streams on one HTTP/2 connection, each with every event, from an instance it reaches over HTTP/1.1', async () => {
    const session = connect(https, { ca: cert });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const created = await h2Request(
          session,
          {
            ':method': 'POST',
            ':path': '/v3/midjourney/jobs/imagine',
            'content-type': 'application/json',
            authorization: `Bearer ${API_KEY}`,
          },
          JSON.stringify({ prompt: `nginx ${i} --sim-steps 2 --sim-interval 30`, stream: false }),
        );
        expect(created.status).toBe(201);
        ids.push((JSON.parse(created.text) as { jobid: string }).jobid);
      }
      const streams = await Promise.all(
        ids.map((id) =>
          h2Request(session, {
            ':method': 'GET',
            ':path': `/v1/jobs/midjourney-v3/${encodeURIComponent(id)}/stream`,
            authorization: `Bearer ${API_KEY}`,
          }),
        ),
      );
      expect(session.alpnProtocol).toBe('h2');
      for (const stream of streams) {
        expect(stream.status).toBe(200);
        expect(parseSse(stream.text).map((event) => Number(event.id))).toEqual([0, 1, 2, 3, 4, 5]);
      }
    } finally {
      session.close();
    }
    // The instance has no TLS and speaks HTTP/1.1 only: the config says so to nginx.
    expect(shipped).toMatch(/proxy_pass http:\/\/sse_relay;\s+proxy_http_version 1\.1;/);
  });
});
