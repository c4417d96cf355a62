import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/core/bus/bus.ts';
import { createMemoryBus } from '../../src/core/bus/memory-bus.ts';
import { RelayError } from '../../src/core/errors.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type Exposition, parseExposition } from '../support/prometheus.ts';
import { API_KEY, SECURED, TOKEN_SECRET, createWithKey, holdStream, withKey } from '../support/security.ts';
import { readSse } from '../support/sse.ts';
import { until } from '../support/until.ts';

// `/metrics` after scripted jobs on the in-process simulator: each metric moves as the traffic
// says, the exposition parses strictly, no label carries a path, and no secret shows.

const SIM_TOKEN = 'sim-credential-0123456789-metrics';
/** History kept per job: a replay of a longer job starts with a gap frame. */
const HISTORY = 4;
/** A subscriber with more queued is dropped: an unread one, after a frame that holds a longer prompt. */
const MAX_QUEUED_BYTES = 3000;
const MJ = { profile: 'midjourney-v3' };
const FAL = { profile: 'fal-queue' };
const STREAM_ROUTE = '/v1/jobs/:profile/:jobid/stream';

/** The memory bus, whose `state` fails while `faults.state` is set (the Redis bus's error). */
const faults = { state: false };
function faultBus(): Bus {
  const bus = createMemoryBus({ historyMaxEvents: HISTORY, historyTtlMs: 60_000 });
  return {
    ...bus,
    state: (jobId) => (faults.state ? Promise.reject(new RelayError('unavailable', 'event bus unavailable')) : bus.state(jobId)),
  };
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(
    {
      ...SECURED,
      SIM_TOKEN,
      HISTORY_MAX_EVENTS: String(HISTORY),
      HEARTBEAT_MS: '100',
      POLL_INTERVAL_MS: '50',
      CREATE_QUEUE_MAX: '3',
      CREATE_QUEUE_POLL_MS: '50',
    },
    { bus: faultBus(), maxQueuedBytes: MAX_QUEUED_BYTES },
  );
});
afterAll(async () => {
  await gw?.close();
});

async function scrape(): Promise<{ text: string; metrics: Exposition }> {
  const response = await fetch(`${gw.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await response.text();
  return { text, metrics: parseExposition(text) };
}

/** A metric's value now (0 when no series is exposed yet). */
const read = async (name: string, labels: Record<string, string> = MJ) => (await scrape()).metrics.value(name, labels) ?? 0;

/** Each named metric's change across `run`. */
async function deltas(names: [string, Record<string, string>?][], run: () => Promise<void>): Promise<number[]> {
  const before = (await scrape()).metrics;
  await run();
  const after = (await scrape()).metrics;
  return names.map(([name, labels = MJ]) => (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0));
}

const RETRY_FRAME = 'retry: 2000\n\n';

/** The uniform stream of a Midjourney job, with `query` (`?token=…`, `?since=…`). */
const streamUrl = (jobId: string, query = '') => `${gw.url}/v1/jobs/midjourney-v3/${encodeURIComponent(jobId)}/stream${query}`;
const followsEnded = () => until(async () => (await read('sse_relay_jobs_followed')) === 0, 'the follows to end');

describe('/metrics', () => {
  it('counts a job: events received and delivered, the bytes sent exactly, the lag of live ones, the subscription ended by the job', async () => {
    let seen = { events: 0, gaps: 0, bytes: 0 };
    const [received, delivered, bytes, gaps, lag, ended, streams, routed] = await deltas(
      [
        ['sse_relay_events_received_total'],
        ['sse_relay_events_delivered_total'],
        ['sse_relay_bytes_sent_total'],
        ['sse_relay_gap_frames_total'],
        ['sse_relay_delivery_lag_seconds_count'],
        ['sse_relay_subscriptions_ended_total', { ...MJ, reason: 'job_ended' }],
        ['sse_relay_upstream_streams_open'],
        ['sse_relay_http_requests_total', { route: STREAM_ROUTE, method: 'GET', status: '200' }],
      ],
      async () => {
        const job = await createWithKey(gw.url, 'counted --sim-steps 3 --sim-interval 150');
        // The token in the query, as a browser sends it: no label may carry it.
        const stream = await readSse(streamUrl(job.jobId, `?token=${encodeURIComponent(job.token)}`));
        expect(stream.events.at(-1)?.data).toMatch(/"status":"completed"/);
        expect(stream.raw.startsWith(RETRY_FRAME)).toBe(true);
        seen = {
          events: stream.events.filter((event) => event.event !== 'gap').length,
          gaps: stream.events.filter((event) => event.event === 'gap').length,
          bytes: Buffer.byteLength(stream.raw) - RETRY_FRAME.length,
        };
        await followsEnded();
      },
    );
    // Every event was read upstream here, and delivered to the one subscriber (after a gap frame, had it come late).
    expect(received).toBeGreaterThanOrEqual(seen.events);
    expect(received).toBeGreaterThan(4);
    expect(delivered).toBe(seen.events);
    expect(gaps).toBe(seen.gaps);
    // Every byte the hub wrote, and only those, reached the client (events, heartbeats), besides the retry frame.
    expect(bytes).toBe(seen.bytes);
    // The job went on while the client watched: some events were delivered live, each observed once.
    expect(lag).toBeGreaterThan(0);
    expect(lag).toBeLessThanOrEqual(seen.events);
    expect(ended).toBe(1);
    expect(streams).toBe(0);
    expect(routed).toBe(1);
    expect(await read('sse_relay_delivery_lag_seconds_bucket', { ...MJ, le: '+Inf' })).toBe(
      await read('sse_relay_delivery_lag_seconds_count'),
    );
  });

  it('counts a replay after the job ended: the events replayed, the gap frame for the trimmed history', async () => {
    const job = await createWithKey(gw.url, 'replayed --sim-steps 4 --sim-interval 5');
    await followsEnded();
    const [replayed, delivered, gaps] = await deltas(
      [['sse_relay_events_replayed_total'], ['sse_relay_events_delivered_total'], ['sse_relay_gap_frames_total']],
      async () => {
        const replay = await readSse(streamUrl(job.jobId, '?since=0'), { headers: withKey() });
        expect(replay.events.map((event) => event.event ?? 'message')).toEqual(['gap', ...Array(HISTORY).fill('message')]);
      },
    );
    expect(replayed).toBe(HISTORY);
    expect(delivered).toBe(HISTORY);
    expect(gaps).toBe(1);
  });

  it('shows a subscriber and its upstream stream while a job runs, and a client that leaves', async () => {
    const job = await createWithKey(gw.url, 'held --sim-steps 99 --sim-interval 100');
    const held = await holdStream(streamUrl(job.jobId), withKey());
    try {
      await until(async () => (await read('sse_relay_subscribers')) === 1, 'the subscriber to show');
      expect(await read('sse_relay_upstream_streams_open')).toBe(1);
      expect(await read('sse_relay_jobs_followed')).toBe(1);
      const gone = await read('sse_relay_subscriptions_ended_total', { ...MJ, reason: 'client_gone' });
      held.close();
      await until(
        async () => (await read('sse_relay_subscriptions_ended_total', { ...MJ, reason: 'client_gone' })) === gone + 1,
        'the leaving client to count',
      );
      expect(await read('sse_relay_subscribers')).toBe(0);
    } finally {
      held.close();
      await fetch(`${gw.url}/v3/midjourney/jobs/${job.jobId}`, { method: 'DELETE', headers: withKey() }).then((r) => r.body?.cancel());
    }
  });

  it('counts a slow consumer dropped, rejections by code, and a bus error by operation', async () => {
    // A subscriber that reads nothing (in-process, its stream's queue is all it has) while the job goes on: dropped once it holds more than its bound.
    const big = await createWithKey(gw.url, `${'x'.repeat(MAX_QUEUED_BYTES)} --sim-steps 3 --sim-interval 100`);
    const [drops, slow] = await deltas(
      [['sse_relay_slow_consumer_drops_total'], ['sse_relay_subscriptions_ended_total', { ...MJ, reason: 'slow_consumer' }]],
      async () => {
        const unread = await gw.app.request(streamUrl(big.jobId), { headers: withKey() });
        expect(unread.status).toBe(200);
        await until(async () => (await read('sse_relay_slow_consumer_drops_total')) > 0, 'the unread subscriber to be dropped');
        await unread.body?.cancel();
      },
    );
    expect(drops).toBe(1);
    expect(slow).toBe(1);

    const [unauthorized, badRequest] = await deltas(
      [
        ['sse_relay_rejections_total', { reason: 'unauthorized' }],
        ['sse_relay_rejections_total', { reason: 'bad_request' }],
      ],
      async () => {
        expect((await fetch(`${gw.url}/v3/midjourney/jobs/imagine`, { method: 'POST', body: '{"prompt":"x"}' })).status).toBe(401);
        expect((await fetch(streamUrl(big.jobId, '?since=nope'), { headers: withKey() })).status).toBe(400);
      },
    );
    expect([unauthorized, badRequest]).toEqual([1, 1]);

    const [stateErrors, unavailable] = await deltas(
      [
        ['sse_relay_bus_errors_total', { op: 'state' }],
        ['sse_relay_rejections_total', { reason: 'unavailable' }],
      ],
      async () => {
        faults.state = true;
        try {
          const response = await fetch(`${gw.url}/v3/midjourney/jobs/${big.jobId}`, { headers: withKey() });
          expect(response.status).toBe(503);
        } finally {
          faults.state = false;
        }
      },
    );
    expect(stateErrors).toBe(1);
    expect(unavailable).toBe(1);
  });

  it('shows a create waiting in the queue, then none', async () => {
    const fal = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${gw.url}/fal/queue/fal-ai/flux/dev${path}`, {
        method: 'POST',
        headers: { Authorization: `Key ${API_KEY}`, 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    // fal says 429 to a `--sim-busy 1` submit while another request is unfinished: the second waits in the queue.
    const first = (await (await fal('', { prompt: 'first --sim-steps 8 --sim-interval 100' })).json()) as { request_id: string };
    const second = fal('', { prompt: 'second --sim-busy 1 --sim-steps 1 --sim-interval 5' }, { 'X-Queue': 'true' });
    await until(async () => (await read('sse_relay_create_queue_waiting', FAL)) === 1, 'the second submit to wait');
    expect(first.request_id).toBeTruthy();
    expect((await second).status).toBe(200);
    expect(await read('sse_relay_create_queue_waiting', FAL)).toBe(0);
  });

  it("counts the upstream's polls after a cut stream (Midjourney), and its resumes (OpenAI)", async () => {
    const OPENAI = { profile: 'openai-responses' };
    const [polls, mjResumes, resumes, streams] = await deltas(
      [
        ['sse_relay_upstream_polls_total'],
        ['sse_relay_upstream_resumes_total'],
        ['sse_relay_upstream_resumes_total', OPENAI],
        ['sse_relay_upstream_streams_total', OPENAI],
      ],
      async () => {
        await createWithKey(gw.url, 'cut --sim-steps 3 --sim-interval 30 --sim-drop-after 2');
        const response = await fetch(`${gw.url}/openai/v1/responses`, {
          method: 'POST',
          headers: withKey({ 'Content-Type': 'application/json' }),
          body: JSON.stringify({
            model: 'gpt-4o',
            input: 'cut --sim-steps 3 --sim-interval 30 --sim-drop-after 2',
            background: true,
            stream: true,
          }),
        });
        expect(response.status).toBe(200);
        await response.text();
        await followsEnded();
        await until(async () => (await read('sse_relay_jobs_followed', OPENAI)) === 0, 'the response to end');
      },
    );
    // Midjourney cannot resume: its follower polls until the job ends; OpenAI's reopens the stream after the last seq.
    expect(polls).toBeGreaterThan(0);
    expect(mjResumes).toBe(0);
    expect(resumes).toBeGreaterThan(0);
    expect(streams).toBe(1 + Number(resumes));

    // A background create answering JSON: the gateway opens the job's stream itself, a first stream and no resume.
    const [opened, resumed] = await deltas(
      [
        ['sse_relay_upstream_streams_total', OPENAI],
        ['sse_relay_upstream_resumes_total', OPENAI],
      ],
      async () => {
        const created = await fetch(`${gw.url}/openai/v1/responses`, {
          method: 'POST',
          headers: withKey({ 'Content-Type': 'application/json' }),
          body: JSON.stringify({ model: 'gpt-4o', input: 'whole --sim-steps 2 --sim-interval 20', background: true }),
        });
        expect(created.status).toBe(200);
        await created.body?.cancel();
        await until(
          async () => (await read('sse_relay_jobs_followed', OPENAI)) === 0 && (await read('sse_relay_upstream_streams_total', OPENAI)) > 0,
          'the response to end',
        );
      },
    );
    expect([opened, resumed]).toEqual([1, 0]);
  });

  it('parses strictly, labels routes by pattern, and shows no secret', async () => {
    const job = await createWithKey(gw.url, 'labelled --sim-steps 1 --sim-interval 5');
    await readSse(streamUrl(job.jobId, `?token=${encodeURIComponent(job.token)}`));
    await fetch(`${gw.url}/no/such/${job.jobId}?token=${job.token}`);
    const { text, metrics } = await scrape();
    for (const family of [
      'sse_relay_http_requests_total',
      'sse_relay_subscribers',
      'sse_relay_subscriptions_ended_total',
      'sse_relay_events_received_total',
      'sse_relay_events_delivered_total',
      'sse_relay_bytes_sent_total',
      'sse_relay_events_replayed_total',
      'sse_relay_delivery_lag_seconds',
      'sse_relay_upstream_streams_open',
      'sse_relay_upstream_polls_total',
      'sse_relay_upstream_resumes_total',
      'sse_relay_gap_frames_total',
      'sse_relay_slow_consumer_drops_total',
      'sse_relay_rejections_total',
      'sse_relay_bus_errors_total',
      'sse_relay_create_queue_waiting',
    ]) {
      expect(metrics.types.has(family), family).toBe(true);
    }
    const routes = new Set(metrics.samples.filter((s) => s.name === 'sse_relay_http_requests_total').map((s) => s.labels.route));
    expect([...routes]).toEqual(expect.arrayContaining([STREAM_ROUTE, '/v3/midjourney/jobs/:verb', 'unmatched', '/metrics']));
    for (const route of routes) expect(route).not.toMatch(/[?=]|\/no\//);
    for (const secret of [API_KEY, TOKEN_SECRET, SIM_TOKEN, job.token, job.jobId]) expect(text).not.toContain(secret);
  });
});
