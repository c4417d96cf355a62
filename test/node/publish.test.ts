import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OTHER_PUBLISHER_KEY,
  PUBLISHERS,
  PUBLISHER_KEY,
  newPublishedJob,
  publishJson,
  publishNdjson,
  publishedStreamUrl,
} from '../support/publisher.ts';
import { type TestGateway, startTestGateway } from '../support/gateway.ts';
import { SECURED } from '../support/security.ts';
import { publishScenarios } from '../scenarios/publish.ts';
import { readSse } from '../support/sse.ts';
import { until } from '../support/until.ts';

// The publish API on a real gateway (secured: API keys, tokens; two namespaces): the shared publish
// scenarios (a cut request known handled by its log line), and what only Node shows (log lines, metrics,
// the rate cap, open mode).
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    ...SECURED,
    PUBLISHERS,
    PUBLISH_MAX_EVENT_BYTES: '2048',
    PUBLISH_MAX_EVENTS: '20',
    PUBLISH_RATE_PER_S: '1000',
  });
});
afterAll(async () => {
  await gw?.close();
});

const stream = (jobId: string, query = '') => publishedStreamUrl(gw.url, 'render', jobId, query);
const withPublisher = { Authorization: `Bearer ${PUBLISHER_KEY}` };
/** The job's events as a subscriber with the publisher key reads them (to its end). */
const _watchAll = (jobId: string, query = '') => readSse(stream(jobId, query), { headers: withPublisher });
const _latest = async (jobId: string) => {
  const response = await fetch(`${gw.url}/v1/jobs/render/${jobId}`, { headers: withPublisher });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

publishScenarios(() => ({ url: gw.url, logs: () => gw.logs }));

describe('publish API on Node', () => {
  it('counts published events in its metrics, labelled by namespace, without a key', async () => {
    await publishJson(gw.url, newPublishedJob(), { data: 1 });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(Number(/sse_relay_events_appended_total\{profile="render"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).not.toContain(PUBLISHER_KEY);
  });

  it('writes no publisher key to its log lines', async () => {
    const job = newPublishedJob();
    await publishJson(gw.url, job, { data: PUBLISHER_KEY });
    await publishJson(gw.url, job, { data: 1 }, { key: `${PUBLISHER_KEY}x` });
    await publishJson(gw.url, job, { data: 1 }, { key: OTHER_PUBLISHER_KEY });
    await until(() => gw.logs.filter((line) => line.includes(job)).length >= 3, 'the access log lines');
    expect(gw.logs.join('')).not.toContain(PUBLISHER_KEY);
    expect(gw.logs.join('')).not.toContain(OTHER_PUBLISHER_KEY);
  });

  it('answers an NDJSON body without an event with 400', async () => {
    const empty = await publishNdjson(gw.url, newPublishedJob(), []);
    expect(empty).toMatchObject({ status: 400, body: { code: 'bad_request', error: 'the NDJSON body holds no event' } });
  });

  it('caps the publish rate per key with 429 and Retry-After', async () => {
    const job = newPublishedJob();
    const limited = await startTestGateway({ ...SECURED, PUBLISHERS, PUBLISH_RATE_PER_S: '2' });
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await publishJson(limited.url, job, { data: i }));
      const refused = answers.find((answer) => answer.status === 429);
      expect(refused?.body).toMatchObject({ code: 'rate_limited' });
      expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Another namespace's key has its own bucket.
      expect((await publishJson(limited.url, job, { data: 1 }, { key: OTHER_PUBLISHER_KEY, namespace: 'other' })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('publish API in open mode', () => {
  it('still requires the publisher key; anyone may read', async () => {
    const open = await startTestGateway({ PUBLISHERS });
    try {
      const job = newPublishedJob();
      expect((await publishJson(open.url, job, { data: 1 }, { key: null })).status).toBe(401);
      expect((await publishJson(open.url, job, [{ data: 1 }, { data: 2, terminal: true }])).status).toBe(200);
      const result = await publishNdjson(open.url, newPublishedJob(), [{ data: 1 }]);
      expect(result.status).toBe(200);
      expect((await readSse(publishedStreamUrl(open.url, 'render', job))).events.map((event) => event.data)).toEqual(['1', '2']);
    } finally {
      await open.close();
    }
  });
});
