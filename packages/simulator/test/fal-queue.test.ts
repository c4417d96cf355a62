import { afterEach, describe, expect, it } from 'vitest';
import { falHeaders, getJson, openStatusStream, sseReader, statusesOf, submit, submitRaw, waitForFalStatus } from './fal-helpers.ts';
import { startSimulator } from './helpers.ts';
import type { RunningSimulator } from './helpers.ts';

let s: RunningSimulator;
afterEach(() => s.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A request that holds the only runner slot (maxJobs 1) until it is cancelled. */
const HOLD = { prompt: 'hold the slot --sim-queue 99 --sim-interval 60000' };

function cancel(url: string): Promise<{ status: number; body: unknown }> {
  return fetch(url, { method: 'PUT', headers: falHeaders() }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

describe('fal queue: submit', () => {
  it('answers 200 IN_QUEUE with a uuid and URLs that name owner/app only', async () => {
    s = await startSimulator();
    const response = await submitRaw(s.origin, { prompt: 'a cat' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = await response.json();
    const id = body.request_id as string;
    expect(id).toMatch(UUID);
    expect(response.headers.get('x-fal-request-id')).toBe(id);
    const base = `${s.origin}/fal/queue/fal-ai/flux/requests/${id}`;
    expect(body).toEqual({
      status: 'IN_QUEUE',
      request_id: id,
      response_url: base,
      status_url: `${base}/status`,
      cancel_url: `${base}/cancel`,
      queue_position: 0,
    });
    expect(Object.keys(body)).toEqual(['status', 'request_id', 'response_url', 'status_url', 'cancel_url', 'queue_position']);
  });

  it('builds URLs from publicOrigin when set, and keeps a namespace as part of the app id', async () => {
    s = await startSimulator({ publicOrigin: 'https://sim.example' });
    const plain = await submit(s.origin, { prompt: 'a cat' });
    expect(plain.status_url).toBe(`https://sim.example/fal/queue/fal-ai/flux/requests/${plain.request_id}/status`);
    const namespaced = await submit(s.origin, { prompt: 'a cat' }, 'workflows/someone/my-flow/run');
    expect(namespaced.response_url).toBe(`https://sim.example/fal/queue/workflows/someone/my-flow/requests/${namespaced.request_id}`);
    const status = await getJson(`${s.origin}/fal/queue/workflows/someone/my-flow/requests/${namespaced.request_id}/status`);
    expect(status.status).toBe(202);
  });

  it('checks the Key header: 401 {"detail":"Unauthorized"} without it, with Bearer, empty, or not the configured key', async () => {
    s = await startSimulator({ token: 'the-only-key' });
    const url = `${s.origin}/fal/queue/fal-ai/flux/dev`;
    const body = JSON.stringify({ prompt: 'a cat' });
    for (const authorization of [undefined, 'Bearer the-only-key', 'Key ', 'Key other-key', 'the-only-key']) {
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (authorization !== undefined) headers.Authorization = authorization;
      const response = await fetch(url, { method: 'POST', headers, body });
      expect(response.status, String(authorization)).toBe(401);
      expect(await response.json()).toEqual({ detail: 'Unauthorized' });
    }
    expect((await submitRaw(s.origin, { prompt: 'a cat' }, undefined, 'the-only-key')).status).toBe(200);
    const status = await fetch(`${s.origin}/fal/queue/fal-ai/flux/requests/x/status`);
    expect(status.status).toBe(401);
  });

  it('rejects a body that is not a JSON object (422, detail array) and unknown directives (400)', async () => {
    s = await startSimulator();
    const notJson = await fetch(`${s.origin}/fal/queue/fal-ai/flux/dev`, { method: 'POST', headers: falHeaders(), body: '{nope' });
    expect(notJson.status).toBe(422);
    const detail = ((await notJson.json()) as { detail: Array<Record<string, unknown>> }).detail;
    expect(detail[0]).toMatchObject({ loc: ['body'], type: 'json_invalid' });
    const bad = await submitRaw(s.origin, { prompt: 'a cat --sim-nope' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ detail: 'Unknown directive --sim-nope' });
  });

  it('--sim-status answers with fal error shapes: 503 runner_scheduling_failure with X-Fal-Error-Type, 422 detail array, 429 plain', async () => {
    s = await startSimulator();
    const unavailable = await submitRaw(s.origin, { prompt: 'a cat --sim-status 503' });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('x-fal-error-type')).toBe('runner_scheduling_failure');
    expect(await unavailable.json()).toEqual({ detail: expect.any(String), error_type: 'runner_scheduling_failure' });
    const timeout = await submitRaw(s.origin, { prompt: 'a cat --sim-status 504' });
    expect(await timeout.json()).toMatchObject({ error_type: 'request_timeout' });
    const invalid = await submitRaw(s.origin, { prompt: 'a cat --sim-status 422' });
    expect(invalid.status).toBe(422);
    expect(((await invalid.json()) as { detail: unknown[] }).detail[0]).toMatchObject({ loc: ['body'], msg: expect.any(String) });
    const limited = await submitRaw(s.origin, { prompt: 'a cat --sim-status 429' });
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({ detail: 'Too Many Requests' });
    expect(s.sim.falStats().submits).toBe(4);
  });

  it('--sim-busy N answers 429 while N requests are unfinished, and accepts the submit once one finished', async () => {
    s = await startSimulator({ maxJobs: 1 });
    const hold = await submit(s.origin, { prompt: 'hold --sim-steps 1 --sim-interval 200' });
    const limited = await submitRaw(s.origin, { prompt: 'next --sim-busy 1' });
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({ detail: 'Too Many Requests' });
    const next = await submit(s.origin, { prompt: 'next --sim-busy 2 --sim-steps 0 --sim-interval 10' });
    await waitForFalStatus(hold.status_url, 'COMPLETED');
    await waitForFalStatus(next.status_url, 'COMPLETED');
    expect((await submitRaw(s.origin, { prompt: 'later --sim-busy 1' })).status).toBe(200);
  });
});

describe('fal queue: status, result, cancel', () => {
  it('polls 202 IN_QUEUE (positions counting down) and 202 IN_PROGRESS with logs, then 200 COMPLETED with metrics', async () => {
    s = await startSimulator({ maxJobs: 1 });
    const hold = await submit(s.origin, HOLD);
    const a = await submit(s.origin, { prompt: 'first --sim-steps 2' });
    const b = await submit(s.origin, { prompt: 'second --sim-steps 2' });
    expect([a.queue_position, b.queue_position]).toEqual([1, 2]);

    const queued = await getJson(`${b.status_url}?logs=1`);
    expect(queued.status).toBe(202);
    expect(queued.headers.get('x-fal-request-id')).toBe(b.request_id);
    expect(queued.body).toEqual({
      status: 'IN_QUEUE',
      queue_position: 2,
      request_id: b.request_id,
      response_url: b.response_url,
      status_url: b.status_url,
      cancel_url: b.cancel_url,
    });

    expect(await cancel(hold.cancel_url)).toEqual({ status: 200, body: { status: 'OK' } });
    const done = await waitForFalStatus(b.status_url, 'COMPLETED');
    expect(done.logs?.map((l) => l.message)).toEqual(['step 1/2', 'step 2/2']);
    const completed = await getJson(`${b.status_url}?logs=1`);
    expect(completed.status).toBe(200);
    expect(completed.body).toEqual({
      status: 'COMPLETED',
      logs: done.logs,
      metrics: { inference_time: expect.any(Number) },
      request_id: b.request_id,
      response_url: b.response_url,
      status_url: b.status_url,
      cancel_url: b.cancel_url,
    });
    for (const log of done.logs ?? []) {
      expect(log).toEqual({ message: expect.any(String), level: 'INFO', source: 'USER', timestamp: expect.any(String) });
    }
    expect((await getJson(`${b.status_url}?logs=0`)).body.logs).toEqual([]);
  });

  it('shows IN_PROGRESS as a 202 with a logs array, even with logs=0', async () => {
    s = await startSimulator();
    const a = await submit(s.origin, { prompt: 'slow --sim-queue 0 --sim-steps 3 --sim-interval 60000' });
    const running = await getJson(`${a.status_url}?logs=0`);
    expect(running.status).toBe(202);
    expect(running.body).toMatchObject({ status: 'IN_PROGRESS', logs: [], request_id: a.request_id });
  });

  it('serves the flux/dev-like result once completed, 400 before, and PNGs behind the image URLs', async () => {
    s = await startSimulator({ maxJobs: 1 });
    const hold = await submit(s.origin, HOLD);
    const a = await submit(s.origin, { prompt: 'a red fox', num_images: 2, seed: 42 });
    const early = await fetch(a.response_url, { headers: falHeaders() });
    expect(early.status).toBe(400);
    expect(await early.json()).toEqual({ detail: 'Request is still in progress' });
    await cancel(hold.cancel_url);
    await waitForFalStatus(a.status_url, 'COMPLETED');
    const result = await fetch(a.response_url, { headers: falHeaders() });
    expect(result.status).toBe(200);
    expect(result.headers.get('x-fal-request-id')).toBe(a.request_id);
    const body = (await result.json()) as { images: Array<{ url: string }> } & Record<string, unknown>;
    expect(body).toEqual({
      images: [1, 2].map((n) => ({
        url: `${s.origin}/_sim/images/${a.request_id}/${n}.png`,
        width: 64,
        height: 64,
        content_type: 'image/png',
      })),
      timings: { inference: expect.any(Number) },
      seed: 42,
      has_nsfw_concepts: [false, false],
      prompt: 'a red fox',
    });
    const png = await fetch(body.images[0]!.url);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await png.arrayBuffer()).slice(1, 4)).toEqual(new TextEncoder().encode('PNG'));
    expect((await fetch(a.response_url, { headers: falHeaders() })).status).toBe(200); // fetchable again within the retention
  });

  it('ends a failed request COMPLETED with error/error_type, the model error (422, detail array) at the result call', async () => {
    s = await startSimulator();
    const flagged = await submit(s.origin, { prompt: 'a cat --sim-outcome error' });
    const missing = await submit(s.origin, { num_images: 1 });
    const done = await waitForFalStatus(flagged.status_url, 'COMPLETED');
    expect(done).toMatchObject({ error: expect.stringContaining('content checker'), error_type: 'content_policy_violation' });
    const result = await fetch(flagged.response_url, { headers: falHeaders() });
    expect(result.status).toBe(422);
    expect(result.headers.get('x-fal-retryable')).toBe('false');
    expect(await result.json()).toEqual({
      detail: [
        {
          loc: ['body', 'prompt'],
          msg: expect.any(String),
          type: 'content_policy_violation',
          url: 'https://docs.fal.ai/errors/#content_policy_violation',
          input: 'a cat --sim-outcome error',
        },
      ],
    });

    expect(await waitForFalStatus(missing.status_url, 'COMPLETED')).toMatchObject({ error: 'Field required', error_type: 'missing' });
    const missingResult = await fetch(missing.response_url, { headers: falHeaders() });
    expect(missingResult.status).toBe(422);
    expect(((await missingResult.json()) as { detail: unknown[] }).detail).toEqual([
      { loc: ['body', 'prompt'], msg: 'Field required', type: 'missing', url: expect.any(String), input: { num_images: 1 } },
    ]);
  });

  it('maps cancel: 200 OK in the queue, 202 CANCELLATION_REQUESTED in progress, 400 ALREADY_COMPLETED, 404 NOT_FOUND', async () => {
    s = await startSimulator({ maxJobs: 1 });
    const running = await submit(s.origin, { prompt: 'long --sim-queue 0 --sim-steps 99 --sim-interval 200' });
    const queued = await submit(s.origin, { prompt: 'waiting' });
    expect(await cancel(queued.cancel_url)).toEqual({ status: 200, body: { status: 'OK' } });
    expect(await waitForFalStatus(queued.status_url, 'COMPLETED')).toMatchObject({ error: 'Request was cancelled' });
    expect((await fetch(queued.response_url, { headers: falHeaders() })).status).toBe(400);

    expect(await cancel(running.cancel_url)).toEqual({ status: 202, body: { status: 'CANCELLATION_REQUESTED' } });
    expect(await waitForFalStatus(running.status_url, 'COMPLETED')).toMatchObject({ error: 'Request was cancelled' });
    const result = await fetch(running.response_url, { headers: falHeaders() });
    expect([result.status, await result.json()]).toEqual([400, { detail: 'Request was cancelled' }]);

    expect(await cancel(running.cancel_url)).toEqual({ status: 400, body: { status: 'ALREADY_COMPLETED' } });
    expect(await cancel(`${s.origin}/fal/queue/fal-ai/flux/requests/00000000-0000-4000-8000-000000000000/cancel`)).toEqual({
      status: 404,
      body: { status: 'NOT_FOUND' },
    });
  });

  it('answers 404 for unknown ids, the full model id in a status path, another app, and unknown paths', async () => {
    s = await startSimulator();
    const a = await submit(s.origin, { prompt: 'a cat' });
    const base = `${s.origin}/fal/queue`;
    for (const url of [
      `${base}/fal-ai/flux/requests/nope/status`,
      `${base}/fal-ai/flux/requests/nope`,
      `${base}/fal-ai/flux/dev/requests/${a.request_id}/status`,
      `${base}/fal-ai/other/requests/${a.request_id}/status`,
      `${base}/fal-ai/flux/requests/${a.request_id}/nonsense`,
      `${base}/fal-ai`,
    ]) {
      const response = await fetch(url, { headers: falHeaders() });
      expect(response.status, url).toBe(404);
      expect(await response.json()).toHaveProperty('detail');
    }
  });

  it('forgets a result after its retention (directive or option): then every call for it is a 404', async () => {
    s = await startSimulator({ fal: { retentionMs: 0 } });
    const a = await submit(s.origin, { prompt: 'short-lived' });
    const stream = await sseReader(await openStatusStream(a.status_url)).rest();
    expect(statusesOf(stream.data).at(-1)?.status).toBe('COMPLETED');
    expect((await fetch(a.response_url, { headers: falHeaders() })).status).toBe(404);
    expect((await fetch(a.status_url, { headers: falHeaders() })).status).toBe(404);
    await s.close();

    s = await startSimulator();
    const b = await submit(s.origin, { prompt: 'short-lived --sim-retention 0' });
    const c = await submit(s.origin, { prompt: 'kept' });
    await sseReader(await openStatusStream(b.status_url)).rest();
    await sseReader(await openStatusStream(c.status_url)).rest();
    expect((await fetch(b.response_url, { headers: falHeaders() })).status).toBe(404);
    expect((await fetch(c.response_url, { headers: falHeaders() })).status).toBe(200);
  });
});

describe('fal queue: stats', () => {
  it('counts submits, streams, polls and result fetches per id; /_sim/reset clears them and /_sim/stats keeps its shape', async () => {
    s = await startSimulator();
    const a = await submit(s.origin, { prompt: 'a cat' });
    await sseReader(await openStatusStream(a.status_url)).rest();
    await getJson(a.status_url);
    await getJson(a.status_url);
    await fetch(a.response_url, { headers: falHeaders() });
    const stats = (await (await fetch(`${s.origin}/_sim/fal/stats`)).json()) as Record<string, unknown>;
    expect(stats).toEqual({
      submits: 1,
      streamsServed: 1,
      statusPolls: { [a.request_id]: 2 },
      resultFetches: { [a.request_id]: 1 },
      requests: [
        { method: 'POST', path: '/fal/queue/fal-ai/flux/dev', at: expect.any(String) },
        { method: 'GET', path: `/fal/queue/fal-ai/flux/requests/${a.request_id}/status/stream`, at: expect.any(String) },
        { method: 'GET', path: `/fal/queue/fal-ai/flux/requests/${a.request_id}/status`, at: expect.any(String) },
        { method: 'GET', path: `/fal/queue/fal-ai/flux/requests/${a.request_id}/status`, at: expect.any(String) },
        { method: 'GET', path: `/fal/queue/fal-ai/flux/requests/${a.request_id}`, at: expect.any(String) },
      ],
      running: 0,
      queued: 0,
    });
    expect(s.sim.falStats()).toEqual(stats);
    const midjourney = (await (await fetch(`${s.origin}/_sim/stats`)).json()) as Record<string, unknown>;
    expect(Object.keys(midjourney).sort()).toEqual(['jobs', 'polls', 'requests', 'running', 'streamsServed']);
    expect(midjourney.requests).toEqual([]);

    expect((await fetch(`${s.origin}/_sim/reset`, { method: 'POST' })).status).toBe(200);
    expect(s.sim.falStats()).toEqual({
      submits: 0,
      streamsServed: 0,
      statusPolls: {},
      resultFetches: {},
      requests: [],
      running: 0,
      queued: 0,
    });
  });
});
