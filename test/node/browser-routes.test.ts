import { PROFILES } from '../../src/profiles/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { API_KEY, SECURED, TOKEN_SECRET, createWithKey } from '../support/security.ts';

// The dashboard and client files (web/) and what the page reads of the gateway, on Node.
// The Worker serves the same files as its static assets (test/worker/dev-worker.test.ts).
describe('browser files and routes, open gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({});
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('serves the dashboard at / with its content security policy, and its scripts', async () => {
    const page = await fetch(`${gw.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/dashboard.js">');
    for (const path of ['/dashboard.js', '/dashboard-profiles.js', '/dashboard.css'])
      expect((await fetch(`${gw.url}${path}`)).status).toBe(200);
  });

  it('serves the client as an ES module with its types, revalidated by ETag', async () => {
    const client = await fetch(`${gw.url}/client.js`);
    expect(client.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(client.headers.get('x-typescript-types')).toBe('/client.d.ts');
    expect(await client.text()).toMatch(/^export function watch\(/m);
    const types = await fetch(`${gw.url}/client.d.ts`);
    expect(types.headers.get('content-type')).toBe('application/typescript; charset=utf-8');
    expect(await types.text()).toContain('export function watch<');
    const again = await fetch(`${gw.url}/client.js`, { headers: { 'If-None-Match': client.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
    expect((await fetch(`${gw.url}/_headers`)).status).toBe(404);
  });

  it('tells the page the profiles served and that it may start jobs', async () => {
    const info = await (await fetch(`${gw.url}/v1/profiles`)).json();
    expect(info).toEqual({ profiles: PROFILES.map((entry) => entry.profile.name), open: true });
  });
});

describe('browser routes, secured gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ ...SECURED });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('serves the page and the profiles to anyone, with no secret in them', async () => {
    const texts = await Promise.all(
      ['/', '/client.js', '/dashboard.js', '/v1/profiles'].map(async (p) => (await fetch(`${gw.url}${p}`)).text()),
    );
    expect(JSON.parse(texts[3] as string)).toMatchObject({ open: false });
    for (const text of texts) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(TOKEN_SECRET);
    }
  });

  it("reads a job's latest object with a token naming it, and refuses clearly otherwise", async () => {
    const job = await createWithKey(gw.url, 'latest --sim-steps 1 --sim-interval 10');
    const other = await createWithKey(gw.url, 'other --sim-steps 1 --sim-interval 10');
    const path = (id: string) => `${gw.url}/v1/jobs/midjourney-v3/${encodeURIComponent(id)}`;
    const read = await fetch(`${path(job.jobId)}?token=${encodeURIComponent(job.token)}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ jobid: job.jobId });
    const answers = [
      await fetch(path(job.jobId)),
      await fetch(`${path(other.jobId)}?token=${encodeURIComponent(job.token)}`),
      await fetch(path('no-such-job'), { headers: { Authorization: `Bearer ${API_KEY}` } }),
      await fetch(`${gw.url}/v1/jobs/midjourney-v3/${encodeURIComponent('bad id!')}`, { headers: { Authorization: `Bearer ${API_KEY}` } }),
      await fetch(`${gw.url}/v1/jobs/nope/x`),
    ];
    const bodies = await Promise.all(answers.map(async (r) => ({ status: r.status, body: await r.json() })));
    expect(bodies.map((b) => [b.status, b.body.code])).toEqual([
      [401, 'unauthorized'],
      [403, 'forbidden'],
      [404, 'not_found'],
      [400, 'bad_request'],
      [404, 'not_found'],
    ]);
  });
});
