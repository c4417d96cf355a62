import { describe, expect, it } from 'vitest';
import type { ScenarioTarget } from './target.ts';

async function expectJsonError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await response.json()) as { error: string; code: string };
  expect(body.code).toBe(code);
  expect(body.error.length).toBeGreaterThan(0);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
}

/** Bad input gets a clear 4xx JSON body on every runtime. The target needs MAX_BODY_BYTES ≤ 2048. */
export function badRequestScenarios(t: () => ScenarioTarget): void {
  const post = (path: string, body: string) =>
    fetch(`${t().url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

  describe('bad requests get 4xx JSON', () => {
    it('unknown verb', async () => {
      await expectJsonError(await post('/v3/midjourney/jobs/teleport', '{"prompt":"x"}'), 404, 'not_found');
    });
    it('malformed JSON and non-object bodies', async () => {
      await expectJsonError(await post('/v3/midjourney/jobs/imagine', '{"prompt":'), 400, 'bad_request');
      await expectJsonError(await post('/v3/midjourney/jobs/imagine', '[1,2]'), 400, 'bad_request');
      await expectJsonError(await post('/v3/midjourney/jobs/imagine', '{"prompt":"x","stream":"yes"}'), 400, 'bad_request');
    });
    it('oversize body', async () => {
      await expectJsonError(
        await post('/v3/midjourney/jobs/imagine', JSON.stringify({ prompt: 'x'.repeat(5000) })),
        413,
        'payload_too_large',
      );
    });
    it('unknown job', async () => {
      await expectJsonError(await fetch(`${t().url}/v3/midjourney/jobs/j0000-nope:midjourney/stream`), 404, 'not_found');
      await expectJsonError(await fetch(`${t().url}/v3/midjourney/jobs/j0000-nope:midjourney`), 404, 'not_found');
    });
    it('invalid job ids and resume points', async () => {
      await expectJsonError(await fetch(`${t().url}/v3/midjourney/jobs/${encodeURIComponent('../../etc')}/stream`), 400, 'bad_request');
      await expectJsonError(await fetch(`${t().url}/v3/midjourney/jobs/a%0d%0ab/stream`), 400, 'bad_request');
      await expectJsonError(await fetch(`${t().url}/v3/midjourney/jobs/abc/stream?since=x`), 400, 'bad_request');
      await expectJsonError(
        await fetch(`${t().url}/v3/midjourney/jobs/abc/stream`, { headers: { 'Last-Event-ID': '1e9' } }),
        400,
        'bad_request',
      );
    });
    it('unknown route', async () => {
      await expectJsonError(await fetch(`${t().url}/nope`), 404, 'not_found');
    });
    it('health endpoints answer', async () => {
      expect((await fetch(`${t().url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${t().url}/readyz`)).json()).toEqual({ ok: true, bus: 'reachable' });
    });
  });
}
