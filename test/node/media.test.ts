import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, withDevDefaults } from '../../src/config.ts';
import { createMemoryBus } from '../../src/core/bus/memory-bus.ts';
import { type Gateway, startGateway } from '../../src/node/gateway.ts';
import { mediaPath } from '../scenarios/media.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { API_KEY, SECURED, withKey } from '../support/security.ts';
import { until } from '../support/until.ts';

const bytes = async (response: Response) => new Uint8Array(await response.arrayBuffer());

describe('media proxy: access as for the job’s stream (API keys)', () => {
  let gw: TestGateway;
  let jobId: string;
  beforeAll(async () => {
    gw = await startTestGateway(SECURED);
    const created = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ prompt: 'secured --sim-steps 1 --sim-interval 5' }),
    });
    expect(created.status).toBe(200);
    jobId = String(/"jobId":"([^"]+)"/.exec(await created.text())?.[1]);
  });
  afterAll(() => gw.close());

  const token = async (jobs: string[]) => {
    const response = await fetch(`${gw.url}/v1/tokens`, {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ jobs }),
    });
    return ((await response.json()) as { token: string }).token;
  };

  it('needs an API key or a subscribe token naming the job', async () => {
    const url = gw.url + mediaPath('midjourney-v3', jobId, 0);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`${url}?token=${await token(['midjourney-v3:other-job'])}`)).status).toBe(403);
    expect((await fetch(`${url}?token=${await token([`midjourney-v3:${jobId}`])}`)).status).toBe(200);
    const head = await fetch(url, { method: 'HEAD', headers: withKey() });
    expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([200, 'image/png', '']);
    const withApiKey = await fetch(url, { headers: withKey() });
    expect(withApiKey.status).toBe(200);
    // Nothing of the gateway's secrets in what the client gets.
    const body = new TextDecoder('latin1').decode(await bytes(withApiKey));
    expect(body + JSON.stringify([...withApiKey.headers])).not.toContain(API_KEY);
  });
});

describe('media proxy: only the job’s own media URLs, only on allowed hosts, no private addresses', () => {
  let gw: Gateway;
  const bus = createMemoryBus({ historyMaxEvents: 100, historyTtlMs: 60_000 });
  const logs: string[] = [];
  /** Stores a finished Midjourney job whose completed event names these media (and one URL outside its media fields). */
  const storeJob = async (jobId: string, urls: string[], elsewhere: string) => {
    const job = {
      jobid: jobId,
      status: 'completed',
      response: { content: `see ${elsewhere}`, imageUx: urls.map((url, i) => ({ id: i + 1, url })) },
    };
    const data = JSON.stringify({ event: 'midjourney_completed', jobId, job, seq: 0 });
    await bus.append(`midjourney-v3:${jobId}`, { seq: 0, data, terminal: true, snapshot: JSON.stringify(job) });
  };
  beforeAll(async () => {
    const config = loadConfig(withDevDefaults({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', DRAIN_MS: '0' }));
    const logDestination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString('utf8'));
        callback();
      },
    });
    gw = await startGateway(config, { bus, logDestination });
  });
  afterAll(() => gw.close());

  it('refuses another host, a private address (literal or resolved) and counts no URL outside the media fields', async () => {
    const sim = new URL(gw.simulatorUrl as string).origin;
    await storeJob(
      'job-hosts',
      [
        'https://evil.example/cat.png',
        'http://169.254.169.254/latest/meta-data/',
        'https://127.0.0.1/x.png',
        'https://localhost/x.png',
        'https://cdn.midjourney.com.evil.example/x.png',
      ],
      `${sim}/_sim/images/job/1.png`,
    );
    const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((n) => fetch(gw.url + mediaPath('midjourney-v3', 'job-hosts', n))));
    expect(answers.map((answer) => answer.status)).toEqual([403, 403, 403, 403, 403, 404]);
    const first = (await answers[0]?.json()) as { error: string; code: string };
    expect(first).toEqual({ error: 'media host not allowed for this profile: evil.example', code: 'forbidden' });
    // The operator sees each refusal, with the job and the reason.
    const refusals = () => logs.filter((line) => line.includes('"media not served"') && line.includes('"jobId":"job-hosts"'));
    const refused = await until(refusals, (lines) => lines.length === 5, { what: 'five refusals logged' });
    expect(refused[0]).toContain('"reason":"media host not allowed for this profile: evil.example"');
  });

  it('refuses a loopback port other than the simulator’s after resolving the name (dev mode exempts the simulator alone)', async () => {
    const sim = new URL(gw.simulatorUrl as string);
    // The gateway's own port on the simulator's host: allowed by name in dev mode? No: only the simulator's exact origin is.
    await storeJob('job-port', [`http://${sim.hostname}:${gw.port}/healthz`, `${sim.origin}/_sim/images/job/1.png`], '');
    const other = await fetch(gw.url + mediaPath('midjourney-v3', 'job-port', 0));
    expect(other.status).toBe(403);
    const own = await fetch(gw.url + mediaPath('midjourney-v3', 'job-port', 1));
    expect(own.status).toBe(200);
  });
});
