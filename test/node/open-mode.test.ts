import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { SECURED, withKey } from '../support/security.ts';

const CREATE = '/v3/midjourney/jobs/imagine';
const BODY = '{"prompt":"x --sim-steps 1 --sim-interval 5","stream":false}';
/** What Chromium sends for a cross-site `fetch(url, {method: 'POST', mode: 'no-cors', body})` from http://evil.example. */
const CROSS_SITE = {
  Origin: 'http://evil.example',
  'Sec-Fetch-Site': 'cross-site',
  'Sec-Fetch-Mode': 'no-cors',
  'Sec-Fetch-Dest': 'empty',
};

/** A raw HTTP/1.1 request with a Host header of our choosing (fetch does not let one set it). */
function withHost(
  url: string,
  host: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const { port } = new URL(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { ...init.headers, Host: host } },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('open mode (GATEWAY_OPEN=true): other web pages cannot spend the server token', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ CORS_ORIGINS: 'http://app.example' });
  });
  afterAll(async () => {
    await gw.close();
  });
  const post = (headers: Record<string, string>, body = BODY) => fetch(`${gw.url}${CREATE}`, { method: 'POST', headers, body });
  const jobs = async () => (await gw.simStats()).jobs;

  it('refuses a cross-site simple POST (text/plain, form-urlencoded, multipart), starting no job', async () => {
    const before = await jobs();
    for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const response = await post({ ...CROSS_SITE, 'Content-Type': type });
      expect(response.status, type).toBe(403);
      expect(((await response.json()) as { code: string }).code).toBe('forbidden');
    }
    // A cross-site form navigation.
    const form = await post({
      Origin: 'http://evil.example',
      'Sec-Fetch-Site': 'cross-site',
      'Sec-Fetch-Mode': 'navigate',
      'Content-Type': 'text/plain',
    });
    expect(form.status).toBe(403);
    // A sandboxed iframe or file:// page sends Origin: null.
    expect((await post({ Origin: 'null', 'Content-Type': 'text/plain' })).status).toBe(403);
    // Older browsers without Sec-Fetch-*: the Origin alone is refused.
    expect((await post({ Origin: 'http://evil.example', 'Content-Type': 'application/json' })).status).toBe(403);
    expect(await jobs()).toBe(before);
  });

  it('needs Content-Type: application/json on every POST (a simple request cannot send it)', async () => {
    const before = await jobs();
    const variants: Record<string, string>[] = [
      {},
      { 'Content-Type': 'text/plain' },
      { 'Content-Type': 'application/x-www-form-urlencoded' },
    ];
    for (const headers of variants) {
      const response = await post(headers);
      expect(response.status, JSON.stringify(headers)).toBe(415);
      expect(((await response.json()) as { code: string }).code).toBe('bad_request');
    }
    expect((await fetch(`${gw.url}/v3/midjourney/jobs/fast`, { method: 'POST' })).status).toBe(415);
    expect(await jobs()).toBe(before);
  });

  it('refuses cross-site streams and reads', async () => {
    const stream = await fetch(`${gw.url}/v3/midjourney/jobs/j1-x:midjourney/stream`, {
      headers: { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'cors', Accept: 'text/event-stream' },
    });
    expect(stream.status).toBe(403);
    const list = await fetch(`${gw.url}/v3/midjourney/jobs`, { headers: { 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'no-cors' } });
    expect(list.status).toBe(403);
  });

  it('serves curl-like clients, same-origin requests and the allowed origins', async () => {
    expect((await post({ 'Content-Type': 'application/json' })).status).toBe(201);
    expect((await post({ 'Content-Type': 'application/json; charset=utf-8', 'Sec-Fetch-Site': 'none' })).status).toBe(201);
    expect((await post({ 'Content-Type': 'application/json', Origin: gw.url, 'Sec-Fetch-Site': 'same-origin' })).status).toBe(201);
    const allowed = await post({
      'Content-Type': 'application/json',
      Origin: 'http://app.example',
      'Sec-Fetch-Site': 'cross-site',
      'Sec-Fetch-Mode': 'cors',
    });
    expect(allowed.status).toBe(201);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.example');
  });

  it('checks Host against loopback names when bound to loopback (DNS rebinding)', async () => {
    const rebound = await withHost(gw.url, `evil.example:${new URL(gw.url).port}`, CREATE, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Origin: `http://evil.example:${new URL(gw.url).port}`,
        'Sec-Fetch-Site': 'same-origin',
      },
      body: BODY,
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toContain('Host must be a loopback name');
    expect((await withHost(gw.url, 'evil.example', '/healthz')).status).toBe(403);
    for (const host of ['localhost', 'localhost:8080', '127.0.0.1', 'app.localhost:1', '[::1]:9']) {
      expect((await withHost(gw.url, host, '/healthz')).status, host).toBe(200);
    }
  });
});

describe('open mode on every interface', () => {
  it('is allowed when asked for (HOST=0.0.0.0), with a warning and no Host check', async () => {
    const gw = await startTestGateway({ HOST: '0.0.0.0' });
    try {
      expect(gw.logs.join('')).toContain('GATEWAY_OPEN=true on a non-loopback address');
      expect((await withHost(gw.url, 'dev-box.lan', '/healthz')).status).toBe(200);
      // Cross-site requests are still refused.
      expect(
        (await fetch(`${gw.url}${CREATE}`, { method: 'POST', headers: { ...CROSS_SITE, 'Content-Type': 'text/plain' }, body: BODY }))
          .status,
      ).toBe(403);
    } finally {
      await gw.close();
    }
  });
});

describe('with API keys none of this applies (the key is the protection)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ ...SECURED });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('a create with a key and no Content-Type is served, and any Host', async () => {
    const response = await fetch(`${gw.url}${CREATE}`, { method: 'POST', headers: withKey(), body: BODY });
    expect(response.status).toBe(201);
    expect((await withHost(gw.url, 'relay.example.com', '/healthz')).status).toBe(200);
  });
});
