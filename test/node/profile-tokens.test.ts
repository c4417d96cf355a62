import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniformUrl } from '../scenarios/uniform.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { SECURED, createWithKey, signToken, withKey } from '../support/security.ts';
import { readSse, streamUrl } from '../support/sse.ts';

// Subscribe tokens name profile-qualified jobs; bare ids (tokens and bodies from before profiles) are midjourney-v3's.
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(SECURED);
});
afterAll(async () => {
  await gw.close();
});

const now = () => Math.floor(Date.now() / 1000);
const mint = async (jobs: string[]) => {
  const response = await fetch(`${gw.url}/v1/tokens`, {
    method: 'POST',
    headers: withKey({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ jobs }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { token: string; jobs: string[]; stream_urls: Record<string, string> },
  };
};

describe('subscribe tokens across profiles', () => {
  it('a create hands out a token naming midjourney-v3:<jobid>, good on the drop-in and the uniform path', async () => {
    const { jobId, token } = await createWithKey(gw.url, 'tok --sim-steps 1 --sim-interval 5');
    expect(decodeJwt(token).jobs).toEqual([`midjourney-v3:${jobId}`]);
    for (const url of [streamUrl(gw.url, jobId, `?token=${token}`), uniformUrl(gw.url, 'midjourney-v3', jobId, `?token=${token}`)]) {
      const result = await readSse(url);
      expect(result.status).toBe(200);
      expect(result.events.length).toBeGreaterThan(0);
    }
  });

  it('/v1/tokens takes bare and qualified ids alike and answers with the bodies it was given', async () => {
    const { jobId } = await createWithKey(gw.url, 'mint --sim-steps 1 --sim-interval 5');
    for (const entry of [jobId, `midjourney-v3:${jobId}`]) {
      const { status, body } = await mint([entry]);
      expect(status).toBe(201);
      expect(body.jobs).toEqual([entry]);
      expect(decodeJwt(body.token).jobs).toEqual([`midjourney-v3:${jobId}`]);
      expect(body.stream_urls[entry]).toBe(
        `/v3/midjourney/jobs/${encodeURIComponent(jobId)}/stream?token=${encodeURIComponent(body.token)}`,
      );
      expect((await readSse(uniformUrl(gw.url, 'midjourney-v3', jobId, `?token=${body.token}`))).status).toBe(200);
    }
  });

  it('keeps accepting tokens that name bare job ids, and never opens another job', async () => {
    const a = await createWithKey(gw.url, 'a --sim-steps 1 --sim-interval 5');
    const b = await createWithKey(gw.url, 'b --sim-steps 1 --sim-interval 5');
    const legacy = await signToken({ jobs: [a.jobId], exp: now() + 60 });
    expect((await readSse(streamUrl(gw.url, a.jobId, `?token=${legacy}`))).status).toBe(200);
    expect((await readSse(uniformUrl(gw.url, 'midjourney-v3', a.jobId, `?token=${legacy}`))).status).toBe(200);
    expect((await fetch(uniformUrl(gw.url, 'midjourney-v3', b.jobId, `?token=${legacy}`))).status).toBe(403);
    expect((await fetch(streamUrl(gw.url, b.jobId, `?token=${a.token}`))).status).toBe(403);
    // A token for a job of another profile does not open the same id here.
    const other = await signToken({ jobs: [`other-profile:${a.jobId}`], exp: now() + 60 });
    expect((await fetch(uniformUrl(gw.url, 'midjourney-v3', a.jobId, `?token=${other}`))).status).toBe(403);
    expect((await fetch(uniformUrl(gw.url, 'midjourney-v3', a.jobId))).status).toBe(401);
  });
});
