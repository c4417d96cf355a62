import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts';
import { until } from '../support/until.ts';

const KEY = 'obs-key-0123456789abcdef';
let gw: GatewayProcess;

beforeAll(async () => {
  gw = await startGatewayProcess('obs-a', {
    LOG_LEVEL: 'info',
    GATEWAY_API_KEYS: KEY,
    SUBSCRIBE_TOKEN_SECRET: 'obs-secret-0123456789abcdef0123456789',
  });
});
afterAll(() => gw.stop('SIGKILL'));

type Line = Record<string, unknown>;
const lines = (): Line[] =>
  gw
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

async function waitForLine(match: (line: Line) => boolean): Promise<Line> {
  const found = await until(() => lines().find(match), { intervalMs: 50 }).catch(() => undefined);
  if (!found) throw new Error(`no such log line in:\n${gw.output().slice(-3000)}`);
  return found;
}

describe('operator logs', () => {
  it('writes one access line per request: method, path without the query, status, duration, client IP, request id', async () => {
    const created = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json', 'X-Request-Id': 'client-chosen-1' },
      body: JSON.stringify({ prompt: 'obs --sim-steps 1 --sim-interval 5', stream: false }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe('client-chosen-1');
    const { jobid, subscribe_token } = (await created.json()) as { jobid: string; subscribe_token: string };

    const stream = await fetch(`${gw.url}/v3/midjourney/jobs/${encodeURIComponent(jobid)}/stream?token=${subscribe_token}`);
    expect(stream.status).toBe(200);
    const streamId = stream.headers.get('x-request-id');
    expect(streamId).toMatch(/^[\w-]{8,}$/);
    await stream.text();

    const create = await waitForLine((l) => l.msg === 'request' && l.reqId === 'client-chosen-1');
    expect(create).toMatchObject({ method: 'POST', path: '/v3/midjourney/jobs/imagine', status: 201, ip: '127.0.0.1', instance: 'obs-a' });
    expect(create.ms).toBeTypeOf('number');
    const read = await waitForLine((l) => l.msg === 'request' && l.reqId === streamId);
    expect(read).toMatchObject({ method: 'GET', path: `/v3/midjourney/jobs/${encodeURIComponent(jobid)}/stream`, status: 200 });
    expect(gw.output()).not.toContain(subscribe_token);
    expect(gw.output()).not.toContain(KEY);
    // Every line names the instance.
    expect(lines().every((l) => l.instance === 'obs-a')).toBe(true);
  });

  it('logs the shutdown on SIGTERM and when it is drained', async () => {
    await gw.stop('SIGTERM');
    expect(lines().find((l) => l.msg === 'shutting down')).toMatchObject({ signal: 'SIGTERM' });
    expect(lines().find((l) => String(l.msg).startsWith('drain started'))).toMatchObject({ streams: expect.any(Number) });
    expect(lines().find((l) => l.msg === 'drain done')).toMatchObject({ ms: expect.any(Number) });
    expect(lines().find((l) => String(l.msg).startsWith('stopped'))).toMatchObject({ ms: expect.any(Number) });
  });
});
