import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { holdStream } from '../support/security.ts';
import { ids, readSse, streamUrl } from '../support/sse.ts';
import { until } from '../support/until.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    CREATE_RATE_PER_MIN: '2',
    MAX_SUBSCRIBERS: '3',
    MAX_SUBSCRIBERS_PER_IP: '2',
    MAX_REPLAY_EVENTS: '3',
    TRUST_PROXY: 'true',
  });
});
afterAll(async () => {
  await gw.close();
});

const from = (ip: string) => ({ 'X-Forwarded-For': `203.0.113.99, ${ip}` });

function create(ip: string, prompt: string) {
  return fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...from(ip) },
    body: JSON.stringify({ prompt, stream: false }),
  });
}

async function expectLimited(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(((await response.json()) as { code: string }).code).toBe(code);
}

describe('job creation rate per caller', () => {
  it('answers 429 with Retry-After past CREATE_RATE_PER_MIN, per caller', async () => {
    expect((await create('10.0.0.1', 'r --sim-steps 1 --sim-interval 5')).status).toBe(201);
    expect((await create('10.0.0.1', 'r --sim-steps 1 --sim-interval 5')).status).toBe(201);
    const limited = await create('10.0.0.1', 'r --sim-steps 1 --sim-interval 5');
    await expectLimited(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    expect((await create('10.0.0.2', 'r --sim-steps 1 --sim-interval 5')).status).toBe(201);
  });
});

describe('subscriber caps', () => {
  it('429 per IP, 503 in total, both with Retry-After; slots come back when clients leave', async () => {
    const created = await create('10.0.0.3', 'long --sim-steps 60 --sim-interval 100');
    const { jobid } = (await created.json()) as { jobid: string };
    const url = streamUrl(gw.url, jobid);
    const a1 = await holdStream(url, from('10.1.1.1'));
    const a2 = await holdStream(url, from('10.1.1.1'));
    expect([a1.response.status, a2.response.status]).toEqual([200, 200]);
    await expectLimited(await fetch(url, { headers: from('10.1.1.1') }), 429, 'rate_limited');
    // A streaming create needs a slot too, and starts no upstream job without one.
    const jobsBefore = (await gw.simStats()).jobs;
    const streamingCreate = await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...from('10.1.1.1') },
      body: JSON.stringify({ prompt: 'x --sim-steps 1 --sim-interval 5' }),
    });
    await expectLimited(streamingCreate, 429, 'rate_limited');
    expect((await gw.simStats()).jobs).toBe(jobsBefore);
    const b1 = await holdStream(url, from('10.1.1.2'));
    expect(b1.response.status).toBe(200);
    await expectLimited(await fetch(url, { headers: from('10.1.1.3') }), 503, 'unavailable');

    a1.close();
    const again = await until(async () => {
      const attempt = await holdStream(url, from('10.1.1.1'));
      if (attempt.response.status === 200) return attempt;
      attempt.close();
      return undefined;
    }, 'the slot back');
    for (const held of [a2, b1, again]) held?.close();
    // Every slot is back once the clients are gone: three streams from one new address.
    await until(async () => {
      const trio = await Promise.all([1, 2, 3].map((n) => holdStream(url, from(`10.2.0.${n}`))));
      for (const held of trio) held.close();
      return trio.every((held) => held.response.status === 200);
    }, 'every slot back');
  });

  it('frees the slot when the job ends the stream and on a 204', async () => {
    const created = await create('10.0.0.4', 'short --sim-steps 1 --sim-interval 5');
    const { jobid } = (await created.json()) as { jobid: string };
    for (let i = 0; i < 4; i++) {
      const result = await readSse(streamUrl(gw.url, jobid), { headers: from('10.3.0.1') });
      expect(result.status).toBe(200);
      const last = result.events.at(-1)?.id as string;
      expect((await fetch(streamUrl(gw.url, jobid), { headers: { ...from('10.3.0.1'), 'Last-Event-ID': last } })).status).toBe(204);
    }
  });
});

describe('HEAD on a stream', () => {
  it('answers with SSE headers without holding a subscriber slot', async () => {
    const created = await create('10.0.0.6', 'head --sim-steps 40 --sim-interval 100');
    const { jobid } = (await created.json()) as { jobid: string };
    for (let i = 0; i < 5; i++) {
      const head = await fetch(streamUrl(gw.url, jobid), { method: 'HEAD', headers: from('10.5.0.1') });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toMatch(/text\/event-stream/);
    }
    const held = await holdStream(streamUrl(gw.url, jobid), from('10.5.0.1'));
    expect(held.response.status).toBe(200);
    held.close();
  });
});

describe('history replay cap', () => {
  it('replays only the newest MAX_REPLAY_EVENTS after a gap frame', async () => {
    const created = await create('10.0.0.5', 'many --sim-steps 8 --sim-interval 5');
    const { jobid } = (await created.json()) as { jobid: string };
    await readSse(streamUrl(gw.url, jobid), { headers: from('10.4.0.1') });
    const late = await readSse(streamUrl(gw.url, jobid), { headers: from('10.4.0.1') });
    expect(late.events[0]?.event).toBe('gap');
    const numbered = ids(late.events);
    expect(numbered).toHaveLength(3);
    expect(JSON.parse(late.events[0]?.data ?? '{}')).toEqual({ from: 0, to: (numbered[0] as number) - 1 });
  });
});
