import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { createJob } from '../support/sse.ts';

// A small hostile upstream: what it answers is chosen per prompt (create) or per job id (GET).

const TOKEN = 'hostile-upstream-token';
const HTML = '<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>';
let server: Server;
let gateway: TestGateway;
const polls: string[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  let raw = '';
  req.on('data', (chunk: Buffer) => void (raw += chunk.toString()));
  req.on('end', () => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method === 'POST') {
      const prompt = String((JSON.parse(raw || '{}') as { prompt?: string }).prompt);
      if (prompt === 'html') return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(HTML);
      if (prompt === 'bad-json') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"jobid":');
      if (prompt === 'quiet') {
        // Names the job, then stays open and silent.
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write('data: {"event":"initialized","message":"Stream initialized","jobId":"j1:quiet","seq":0,"ts":"x"}\n\n');
        res.write('data: {"event":"midjourney_created","job":{"jobid":"j1:quiet","status":"created"},"seq":1,"ts":"x"}\n\n');
        return;
      }
      return void res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":"unknown prompt"}');
    }
    if (req.method === 'GET' && path === '/v3/midjourney/jobs/j1:quiet') {
      polls.push(path);
      return void res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end('{"jobid":"j1:quiet","status":"completed","response":{"imageUx":[]}}');
    }
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(HTML);
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  gateway = await startTestGateway({
    UPSTREAM_URL: `http://127.0.0.1:${port}/v3/midjourney`,
    UPSTREAM_TOKEN: TOKEN,
    UPSTREAM_IDLE_MS: '300',
    POLL_INTERVAL_MS: '50',
  });
});

afterAll(async () => {
  await gateway?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('an upstream answering 200 with something that is not a job', () => {
  it.each([
    ['an HTML page', 'html'],
    ['broken JSON', 'bad-json'],
  ])('is a 502 upstream_error on create when it sends %s (streaming or not)', async (_what, prompt) => {
    for (const stream of [true, false]) {
      const response = await fetch(`${gateway.url}/v3/midjourney/jobs/imagine`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt, stream }),
      });
      expect(response.status).toBe(502);
      const body = (await response.json()) as { code: string; error: string };
      expect(body.code).toBe('upstream_error');
      expect(body.error).toContain('non-JSON');
    }
  });

  it('is a 502 upstream_error on job reads and lists', async () => {
    for (const path of ['/v3/midjourney/jobs/j1:unknown', '/v3/midjourney/jobs']) {
      const response = await fetch(`${gateway.url}${path}`);
      expect(response.status).toBe(502);
      expect(((await response.json()) as { code: string }).code).toBe('upstream_error');
    }
  });
});

describe('an upstream stream that names the job and goes quiet', () => {
  it('is abandoned for polling after UPSTREAM_IDLE_MS, and the subscriber gets the terminal event', async () => {
    const result = await createJob(gateway.url, 'quiet', {}, { timeoutMs: 20_000 });
    expect(result.status).toBe(200);
    const events = result.events.map((e) => JSON.parse(e.data) as { event: string; seq: number });
    expect(events.map((e) => e.event)).toEqual(['initialized', 'midjourney_created', 'midjourney_completed']);
    expect(polls.length).toBeGreaterThan(0);
    expect(gateway.logs.join('')).not.toContain(TOKEN);
  });
});
