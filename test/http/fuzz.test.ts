import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { API_KEY, SECURED } from '../support/security.ts';

let secured: TestGateway;
let open: TestGateway;
let validToken = '';
let jobId = '';
beforeAll(async () => {
  [secured, open] = await Promise.all([
    startTestGateway({
      ...SECURED,
      CORS_ORIGINS: 'http://app.example',
      MAX_BODY_BYTES: '4096',
      LOG_LEVEL: 'silent',
      CREATE_RATE_PER_MIN: '0',
      MAX_SUBSCRIBERS_PER_IP: '0',
    }),
    startTestGateway({ MAX_BODY_BYTES: '4096', LOG_LEVEL: 'silent', CREATE_RATE_PER_MIN: '0', MAX_SUBSCRIBERS_PER_IP: '0' }),
  ]);
  const response = await secured.app.request('/v3/midjourney/jobs/imagine', {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'seed --sim-steps 1 --sim-interval 5', stream: false }),
  });
  ({ jobid: jobId, subscribe_token: validToken } = (await response.json()) as { jobid: string; subscribe_token: string });
});
afterAll(async () => {
  await Promise.all([secured.close(), open.close()]);
});

/** Printable header-safe text (fetch itself refuses CR/LF/NUL in header values). */
const headerText = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\tÿ'.split('')), maxLength: 60 });
const nasty = fc.constantFrom(
  '',
  '..',
  '%2e%2e',
  '%2f',
  '%00',
  '%0d%0a',
  '%zz',
  '%',
  'a%0aevent:%20x',
  'j1:midjourney',
  '{x}',
  '*',
  '\u00e9',
  'a'.repeat(300),
);
const segment = fc.oneof(
  nasty,
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
);
const path = fc.oneof(
  fc.constantFrom(
    '/',
    '/healthz',
    '/readyz',
    '/metrics',
    '/v1/tokens',
    '/v3/midjourney/jobs',
    '/v3/midjourney/jobs/imagine',
    '/v3/midjourney/jobs/settings',
  ),
  segment.map((s) => `/v3/midjourney/jobs/${s}`),
  segment.map((s) => `/v3/midjourney/jobs/${s}/stream`),
  fc.constant(null).map(() => `/v3/midjourney/jobs/${encodeURIComponent(jobId)}/stream`),
  fc.array(segment, { maxLength: 5 }).map((parts) => `/${parts.join('/')}`),
);
const queryValue = fc.oneof(
  segment,
  fc.constantFrom('-1', '0', '1e9', '99999999999999999999', 'token'),
  fc.constant(null).map(() => validToken),
);
const query = fc
  .array(fc.tuple(fc.constantFrom('token', 'since', 'x', 'token[]', ''), queryValue), { maxLength: 3 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));
const authorization = fc.oneof(
  headerText,
  headerText.map((t) => `Bearer ${t}`),
  fc.constantFrom(`Bearer ${API_KEY}`, 'Bearer', 'Basic Zm9vOmJhcg==', 'Bearer eyJhbGciOiJub25lIn0.eyJqb2JzIjpbIngiXX0.'),
  fc.constant(null).map(() => `Bearer ${validToken}`),
);
const headers = fc.record(
  {
    Authorization: authorization,
    'Last-Event-ID': fc.oneof(headerText, fc.constantFrom('0', '-5', '3', '1e3')),
    Origin: fc.oneof(headerText, fc.constantFrom('http://app.example', 'null', 'http://evil.example')),
    Cookie: fc.oneof(
      headerText,
      headerText.map((t) => `sse_relay_token=${t}`),
    ),
    'Content-Type': fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x', ''),
    'Access-Control-Request-Method': fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'),
    'X-Forwarded-For': headerText,
  },
  { requiredKeys: [] },
);
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
const body = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 200 }),
  json,
  fc
    .record(
      {
        prompt: fc.oneof(fc.string({ maxLength: 50 }), fc.integer(), fc.constant('x'.repeat(6000))),
        stream: fc.oneof(fc.boolean(), fc.string()),
        jobs: fc.array(segment, { maxLength: 3 }),
        ttl_s: fc.oneof(fc.integer(), fc.double()),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.constant('{"prompt":"'.padEnd(5000, 'y')),
  fc.integer({ min: 30, max: 2000 }).map((n) => `{"prompt":"x","jobs":["j1"],"x":${'['.repeat(n)}${']'.repeat(n)}}`),
);
const method = fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS', 'PUT', 'PATCH', 'HEAD');

async function checkResponse(response: Response, label: string): Promise<void> {
  expect(response.status, label).toBeLessThan(500);
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('text/event-stream') || label.startsWith('HEAD ')) {
    await response.body?.cancel();
    return;
  }
  const text = await response.text();
  if (response.status >= 400) {
    expect(type, label).toMatch(/application\/json/);
    const parsed = JSON.parse(text) as { error?: unknown; code?: unknown };
    expect(typeof parsed.error, label).toBe('string');
  }
  expect(text, label).not.toMatch(/\n\s+at .*:\d+:\d+/);
}

describe('fuzzing the app: never a 5xx, never a crash, always JSON errors', () => {
  it.each([['secured'], ['open']])('in-process requests (%s)', async (which) => {
    const gw = which === 'secured' ? secured : open;
    await fc.assert(
      fc.asyncProperty(method, path, query, headers, body, async (m, p, q, h, b) => {
        const init: RequestInit = {
          method: m,
          headers: Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>,
        };
        if (b !== undefined && m !== 'GET' && m !== 'HEAD') init.body = b;
        const response = await gw.app.request(`${p}${q}`, init);
        await checkResponse(response, `${m} ${p}${q}`);
      }),
      { numRuns: 300 },
    );
  });

  it('a real server: random requests over HTTP, then raw malformed request lines', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, query, headers, body, async (m, p, q, h, b) => {
        const init: RequestInit = {
          method: m,
          headers: Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>,
        };
        if (b !== undefined && m !== 'GET' && m !== 'HEAD') init.body = b;
        await checkResponse(await fetch(`${secured.url}${p}${q}`, init), `${m} ${p}${q}`);
      }),
      { numRuns: 100 },
    );
    const raw = [
      'GET /v3/midjourney/jobs/a\r\nX-Injected: 1/stream HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /v3/midjourney/jobs/../../etc/passwd/stream HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /v3/midjourney/jobs/%E0%A4%A/stream?token=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /v3/midjourney/jobs/abc/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20000)}\r\n\r\n`,
      'POST /v3/midjourney/jobs/imagine HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n{',
      'POST /v1/tokens HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'GET /v3/midjourney/jobs/abc/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\u0000\r\n\r\n',
    ];
    for (const request of raw) {
      const status = await rawStatus(secured.port, request);
      expect(status, JSON.stringify(request.slice(0, 60))).toBeLessThan(500);
    }
    expect((await fetch(`${secured.url}/healthz`)).status).toBe(200);
  });
});

/** Sends bytes as they are and returns the response status (0 when the server just closed). */
function rawStatus(port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const done = () => {
      socket.destroy();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0));
    };
    socket.setTimeout(3000, done);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (/\r\n\r\n/.test(data)) done();
    });
    socket.on('end', done);
    socket.on('error', (err) => (data ? done() : reject(err)));
    socket.write(request);
  });
}
